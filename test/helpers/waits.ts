/**
 * The least time a test waits for something that is going to happen. A wait ends as soon as its
 * event happens, so a long bound costs nothing when things go well; CI runs on two loaded cores,
 * where a job, a delivery or a stream's event can come seconds later than on an idle machine.
 * A bound a test gives below this (what the event takes when the machine is idle) is raised to it.
 */
export const MIN_WAIT_MS = 30_000;

/** The bound to wait for an event the test expects within about `ms` on an idle machine. */
export const waitBound = (ms: number): number => Math.max(ms, MIN_WAIT_MS);
