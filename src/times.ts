/** A stored time (ms since the epoch) as the API shows it: ISO 8601 in UTC with milliseconds. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
