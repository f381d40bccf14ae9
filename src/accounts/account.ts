import { apiError } from '../errors/api-error.js';
import type { Store } from '../store/store.js';

const DAY_MS = 86_400_000;

/** GET /account: the balance and what the last 30 days used. */
export async function getAccount(store: Store, userId: string, now = Date.now()): Promise<Record<string, unknown>> {
  const user = await store.userGetById({ id: userId });
  if (!user) throw apiError('user_not_found');
  const usage = await store.accountUsage({ userId, since: now - 30 * DAY_MS, now });
  return {
    object: 'account',
    user_id: user.id,
    credits: user.credits,
    subscription: user.subscription,
    usage: {
      credits_used_last_30d: usage.creditsUsed,
      total_requests_last_30d: usage.jobsSince,
      total_jobs: usage.totalJobs,
    },
    api_keys: { active: usage.activeKeys },
  };
}
