/** Why the executor aborted a provider's work; the abort's `reason`, compared by identity. */
export const StopReason = {
  cancelled: new Error('The job was cancelled.'),
  timedOut: new Error('The job timed out.'),
  leaseLost: new Error('This executor lost the job\'s lease.'),
  shutdown: new Error('The executor is shutting down.'),
} as const;

