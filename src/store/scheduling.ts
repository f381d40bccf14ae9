import type { UserSetSchedulingParams } from './store.js';

/**
 * Bounds on an account's scheduling settings (the fair scheduler), enforced by every store
 * adapter. The admin API checks them first and answers a 400; reaching a store with a value out
 * of bounds is a caller's bug.
 */

/** The largest weight: an account's share against a weight-1 account at most 1000 to 1. */
export const MAX_WEIGHT = 1000;
/** The largest limit of running jobs that can be set (overall or per model). */
export const MAX_RUNNING_LIMIT = 1_000_000;

/** Throws a RangeError for a setting out of bounds. */
export function assertSchedulingSettings(p: UserSetSchedulingParams): void {
  if (p.weight !== undefined && !(Number.isInteger(p.weight) && p.weight >= 1 && p.weight <= MAX_WEIGHT)) {
    throw new RangeError(`weight must be an integer from 1 to ${MAX_WEIGHT}, not ${p.weight}`);
  }
  for (const [name, v] of [['maxRunning', p.maxRunning], ['maxRunningPerModel', p.maxRunningPerModel]] as const) {
    if (v !== undefined && v !== null && !(Number.isInteger(v) && v >= 0 && v <= MAX_RUNNING_LIMIT)) {
      throw new RangeError(`${name} must be null or an integer from 0 to ${MAX_RUNNING_LIMIT}, not ${v}`);
    }
  }
}

/**
 * The virtual time a weight-1 account uses up per job it starts; an account of weight w uses
 * VIRTUAL_TURN / w (rounded down). A whole number divisible by every weight up to 16, so that
 * equal turns tie exactly and the queue position estimate matches the claim's order.
 */
export const VIRTUAL_TURN = 720_720;

/** How far one started job advances an account of `weight` in virtual time. */
export const turnOf = (weight: number): number => Math.floor(VIRTUAL_TURN / weight);
