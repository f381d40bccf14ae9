/**
 * Bounds on credit amounts, enforced by every store adapter. Credits are JavaScript numbers
 * end to end (JSON, the stores' integer columns read as numbers), which are exact integers
 * only up to 2^53 (about 9.007 x 10^15); past that, adding 1 can leave a balance unchanged and
 * the ledger stops matching it. So an account may hold at most MAX_BALANCE credits, counting
 * the credits its unfinished jobs hold (a refund gives them back), and every amount a store is
 * handed must be a safe integer.
 */

/** The most credits an account may hold, held ones included. (10^15) */
export const MAX_BALANCE = 1_000_000_000_000_000;

/** Refuses an account's initial credits that are not an exact integer from 0 to MAX_BALANCE. */
export function assertInitialCredits(value: number): void {
  assertCreditAmount(value, 'credits');
  if (value > MAX_BALANCE) throw new RangeError(`credits must be at most ${MAX_BALANCE}, not ${value}`);
}

/** Refuses an amount that is not an exact integer: a caller's bug, never a user's input (use cases check those). */
export function assertCreditAmount(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a whole number of credits within ±2^53, not ${value}`);
}
