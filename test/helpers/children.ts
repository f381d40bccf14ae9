import { after } from 'node:test';
import type { ChildProcess } from 'node:child_process';

/**
 * The child processes tests start (servers, executors, CLI runs, the fault suite), so that none
 * outlives its test file: a child nobody holds keeps the file's process, and so `npm test`, from
 * ending. Stopping them in a hook is not enough by itself: when a suite times out, node's runner
 * runs its `after` hooks and goes on, while the test body it gave up on keeps running and may
 * start a server after the hooks ran. So a group, once closed, stops at once any child added to it.
 *
 * Every child also joins the file's group, closed by a root `after` hook once every test of the
 * file has ended; and when the process exits or is told to stop by a signal, whatever still runs
 * is signalled there and then, as a last resort.
 */
export class Children {
  /** Each running child with the signal that stops it. */
  private readonly live = new Map<ChildProcess, NodeJS.Signals>();
  private closed = false;

  constructor(private readonly parent: Children | null = null) {}

  /**
   * Tracks `child` until it exits. `stopSignal`: what `close` sends first (SIGKILL unless the
   * child cleans up after itself on SIGTERM, as the fault suite does for the processes it runs).
   */
  add<C extends ChildProcess>(child: C, stopSignal: NodeJS.Signals = 'SIGKILL'): C {
    this.parent?.add(child, stopSignal);
    if (!running(child)) return child;
    this.live.set(child, stopSignal);
    child.once('exit', () => this.live.delete(child));
    if (this.closed) child.kill(stopSignal);
    return child;
  }

  /**
   * Stops every child still running and resolves once each has exited; one that has not exited
   * `graceMs` after its stop signal gets SIGKILL. Children added later are stopped as they come.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closed = true;
    await Promise.all([...this.live].map(([child, signal]) => stop(child, signal, graceMs)));
  }

  /** Signals every child still running, without waiting (for an exit handler, where nothing can be awaited). */
  signalAll(): void {
    for (const [child, signal] of this.live) child.kill(signal);
  }
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

function stop(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!running(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = signal === 'SIGKILL' ? null : setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      if (timer) clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** Every child the test file started. */
export const fileChildren = new Children();

after(() => fileChildren.close());
process.on('exit', () => fileChildren.signalAll());
// A signal's default action ends the process without an 'exit' event: the children are
// signalled first, then, unless something else in the process handles the signal, the same
// signal ends this process as it would have.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    fileChildren.signalAll();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}
