import { apiError, invalid } from '../errors/api-error.js';
import { MAX_RUNNING_LIMIT, MAX_WEIGHT } from '../store/scheduling.js';
import { auditWrite } from '../audit/entry.js';
import { isJobPriority, JOB_PRIORITIES, type AuditContext, type Store, type UserRecord, type UserSetSchedulingParams } from '../store/store.js';
import { setApiAccess } from './admin.js';

/**
 * An account's settings for the fair scheduler (docs/architecture.md, "Fair dispatch"): its
 * weight, its limits of running jobs and the highest priority its runs may ask for. Shared by the
 * admin API (`PATCH /admin/v1/users/:id`) and the CLI (`genjobs users update`).
 */

/** The fields `PATCH /admin/v1/users/:id` takes, as sent. */
export interface UserUpdateBody {
  api_access?: unknown;
  weight?: unknown;
  max_running?: unknown;
  max_running_per_model?: unknown;
  max_priority?: unknown;
}

const limit = (value: unknown, field: string): number | null => {
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > MAX_RUNNING_LIMIT) {
    throw invalid(field, `must be null (the configured default) or a whole number from 0 to ${MAX_RUNNING_LIMIT}`);
  }
  return value as number;
};

/** Checks the scheduling fields of an update; only the fields present are returned. */
export function schedulingSettings(body: UserUpdateBody): Omit<UserSetSchedulingParams, 'userId'> {
  const out: Omit<UserSetSchedulingParams, 'userId'> = {};
  if (body.weight !== undefined) {
    if (!Number.isSafeInteger(body.weight) || (body.weight as number) < 1 || (body.weight as number) > MAX_WEIGHT) {
      throw invalid('weight', `must be a whole number from 1 to ${MAX_WEIGHT}`);
    }
    out.weight = body.weight as number;
  }
  if (body.max_running !== undefined) out.maxRunning = limit(body.max_running, 'max_running');
  if (body.max_running_per_model !== undefined) out.maxRunningPerModel = limit(body.max_running_per_model, 'max_running_per_model');
  if (body.max_priority !== undefined) {
    if (!isJobPriority(body.max_priority)) throw invalid('max_priority', `must be one of ${JOB_PRIORITIES.join(', ')}`);
    out.maxPriority = body.max_priority;
  }
  return out;
}

/**
 * Changes what the body names: API access and the scheduling settings. Everything is checked
 * before anything is written; a body that names nothing is refused.
 */
export async function updateUser(store: Store, userId: string, body: UserUpdateBody, audit?: AuditContext, now = Date.now()): Promise<UserRecord> {
  const settings = schedulingSettings(body);
  if (body.api_access !== undefined && typeof body.api_access !== 'boolean') throw invalid('api_access', 'must be true or false');
  if (body.api_access === undefined && Object.keys(settings).length === 0) {
    throw invalid('api_access', 'is required unless the body sets weight, max_running, max_running_per_model or max_priority');
  }
  let user: UserRecord | null = null;
  if (Object.keys(settings).length > 0) {
    const details = Object.fromEntries(Object.entries({
      weight: body.weight, max_running: body.max_running, max_running_per_model: body.max_running_per_model, max_priority: body.max_priority,
    }).filter(([, v]) => v !== undefined));
    user = await store.userSetScheduling({ userId, ...settings, audit: auditWrite(audit, { action: 'user.update', targetType: 'user', details }, now) });
    if (!user) throw apiError('user_not_found');
  }
  return body.api_access === undefined ? user! : setApiAccess(store, userId, body.api_access, audit, now);
}
