import { apiError, invalid } from '../errors/api-error.js';
import { isJobPriority, JOB_PRIORITIES, type JobPriority, type UserRecord } from '../store/store.js';

/**
 * A run's `priority` (default `normal`), which orders it within its account's own queue. Asking
 * above the account's `max_priority` is refused (`priority_not_allowed`) rather than lowered:
 * the run would otherwise wait at a priority the caller did not ask for without knowing it.
 */
export function parsePriority(value: unknown, user: UserRecord): JobPriority {
  if (value === undefined || value === null) return 'normal';
  if (!isJobPriority(value)) throw invalid('priority', `must be one of ${JOB_PRIORITIES.join(', ')}`);
  if (JOB_PRIORITIES.indexOf(value) > JOB_PRIORITIES.indexOf(user.maxPriority)) {
    throw apiError('priority_not_allowed', { max: user.maxPriority, priority: value });
  }
  return value;
}
