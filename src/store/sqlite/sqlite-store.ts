import { SlidingWindowLimiter } from '../../ratelimit/sliding-window.js';
import type * as port from '../store.js';
import type { JobNotice } from '../vocabulary.js';
import { assertCreditAmount } from '../limits.js';
import { changedGrant, changedOwned, changedUser, changedWorker } from '../audit-targets.js';
import { SqliteDb } from './db.js';
import * as apps from './apps.js';
import * as fair from './fair.js';
import { audited, list as auditList } from './audit.js';
import * as jobs from './jobs.js';
import * as keys from './keys.js';
import * as ledger from './ledger.js';
import * as queue from './queue.js';
import * as retention from './retention.js';
import * as users from './users.js';
import * as webhooks from './webhooks.js';
import * as workers from './workers.js';
import * as outputRewrites from './output-rewrites.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for a private in-memory database (tests). */
  filename: string;
}

/**
 * The embedded store: one SQLite file in WAL mode, written through immediate transactions.
 * This class only routes each call of the port, as `PgStore` does: the SQL of each noun is in
 * its own module (`jobs.ts`, `users.ts`, `ledger.ts`, `keys.ts`, `apps.ts`, `workers.ts`,
 * `webhooks.ts`, `audit.ts`), the plumbing in `db.ts`, and the hot writes share a commit per turn
 * (`group-commit.ts`). The query modules run synchronously; these methods make them promises
 * (a throw becomes a rejection).
 */
export class SqliteStore implements port.Store {
  readonly dialect = 'sqlite' as const;
  private readonly db: SqliteDb;
  /** SQLite serves one process, so the rate-limit window lives in its memory: there is no rate-limit SQL. */
  private readonly limiter = new SlidingWindowLimiter();

  constructor(opts: SqliteStoreOptions) {
    this.db = new SqliteDb(opts.filename);
  }

  // ---- users and credits ----
  async userCreate(p: port.UserCreateParams) { return audited(this.db, p.audit, () => users.create(this.db, p), changedUser); }
  async userGetById(p: port.UserGetByIdParams) { return users.getById(this.db, p); }
  async userList(p: port.UserListParams) { return users.list(this.db, p); }
  async userGrantCredits(p: port.UserGrantCreditsParams) { return audited(this.db, p.audit, () => users.grantCredits(this.db, p), changedGrant); }
  async userSetApiAccess(p: port.UserSetApiAccessParams) { return audited(this.db, p.audit, () => users.setApiAccess(this.db, p), changedUser); }

  // ---- API keys ----
  async apiKeyCreate(p: port.ApiKeyCreateParams) { return audited(this.db, p.audit, () => keys.create(this.db, p), changedOwned); }
  async apiKeyGetByHash(p: port.ApiKeyGetByHashParams) { return keys.getByHash(this.db, p); }
  async apiKeyListByUser(p: port.ApiKeyListByUserParams) { return keys.listByUser(this.db, p); }
  async apiKeyRevoke(p: port.ApiKeyRevokeParams) { return audited(this.db, p.audit, () => keys.revoke(this.db, p), changedOwned); }

  // ---- private apps ----
  async appCreate(p: port.AppCreateParams) { return audited(this.db, p.audit, () => apps.create(this.db, p), changedOwned); }
  async appUpdate(p: port.AppUpdateParams) { return audited(this.db, p.audit, () => apps.update(this.db, p), changedOwned); }
  async appSetActive(p: port.AppSetActiveParams) { return audited(this.db, p.audit, () => apps.setActive(this.db, p), changedOwned); }
  async appGetById(p: port.AppGetByIdParams) { return apps.getById(this.db, p); }
  async appListByUser(p: port.AppListByUserParams) { return apps.listByUser(this.db, p); }

  // ---- jobs: creation and reads ----
  async jobCreateCharged(p: port.JobCreateChargedParams) {
    assertCreditAmount(p.cost, 'cost');
    return jobs.createCharged(this.db, p);
  }
  async jobGetById(p: port.JobGetByIdParams) { return jobs.getById(this.db, p); }
  async jobList(p: port.JobListParams) { return jobs.list(this.db, p); }
  async jobQueuePosition(p: port.JobQueuePositionParams) { return fair.queuePosition(this.db, p); }
  async jobQueueSummary() { return queue.summary(this.db); }

  // ---- jobs: moves ----
  async jobCancel(p: port.JobCancelParams) { return jobs.cancel(this.db, p); }
  async jobClaim(p: port.JobClaimParams) { return jobs.claim(this.db, p); }
  async jobLeaseExtend(p: port.JobLeaseExtendParams) { return jobs.leaseExtend(this.db, p); }
  async jobComplete(p: port.JobCompleteParams) { return jobs.complete(this.db, p); }
  async jobFail(p: port.JobFailParams) { return jobs.fail(this.db, p); }
  async jobSetOutput(p: port.JobSetOutputParams) { return jobs.setOutput(this.db, p); }

  // ---- outputs: rows written before file references ----
  async jobOutputRewritesNext(p: port.JobOutputRewritesNextParams) { return outputRewrites.next(this.db, p); }
  async jobOutputRewrite(p: port.JobOutputRewriteParams) { return outputRewrites.rewrite(this.db, p); }
  async jobOutputRewritesLeft() { return outputRewrites.left(this.db); }
  async jobRelease(p: port.JobReleaseParams) { return jobs.release(this.db, p); }
  async jobFailAbandoned(p: port.JobFailAbandonedParams) { return jobs.failAbandoned(this.db, p); }
  async jobListPastDeadline(p: port.JobListPastDeadlineParams) { return jobs.listPastDeadline(this.db, p); }
  async jobReportProgress(p: port.JobReportProgressParams) { return jobs.reportProgress(this.db, p); }
  async jobLogList(p: port.JobLogListParams) { return jobs.logList(this.db, p); }

  // ---- workers ----
  async workerCreate(p: port.WorkerCreateParams) { return audited(this.db, p.audit, () => workers.create(this.db, p), changedWorker); }
  async workerAuthenticate(p: port.WorkerAuthenticateParams) { return workers.authenticate(this.db, p); }
  async workerList() { return workers.list(this.db); }
  async workerRevoke(p: port.WorkerRevokeParams) { return audited(this.db, p.audit, () => workers.revoke(this.db, p), changedWorker); }

  // ---- webhooks ----
  async webhookClaimDue(p: port.WebhookClaimDueParams) { return webhooks.claimDue(this.db, p); }
  async webhookRecordAttempt(p: port.WebhookRecordAttemptParams) { return webhooks.recordAttempt(this.db, p); }
  async webhookFailEndpoint(p: port.WebhookFailEndpointParams) { return webhooks.failEndpoint(this.db, p); }
  async webhookListByJob(p: port.WebhookListByJobParams) { return webhooks.listByJob(this.db, p); }
  async userWebhookSecrets(p: port.UserWebhookSecretsParams) { return webhooks.secrets(this.db, p); }
  async userSetWebhookSecret(p: port.UserSetWebhookSecretParams) { return webhooks.setSecret(this.db, p); }

  // ---- ledger and usage ----
  async ledgerList(p: port.LedgerListParams) { return ledger.list(this.db, p); }
  async accountUsage(p: port.AccountUsageParams) { return ledger.usage(this.db, p); }

  // ---- across processes ----
  async rateLimitConsume(p: port.RateLimitConsumeParams) { return this.limiter.consume(p.keyId, p.limit, p.now); }
  /** The counts live in memory and drop their old seconds as they go: nothing to prune. */
  async rateLimitPrune(_p: port.RateLimitPruneParams) { return 0; }
  /** One process owns the database file: it always leads. */
  async leaderTryAcquire(_p: port.LeaderParams) { return true; }
  async leaderRelease(_p: port.LeaderParams) {}

  /** One process: its own in-process events say everything, so there is nothing to hear. */
  async subscribe(_onNotice: (notice: JobNotice | null) => void): Promise<() => Promise<void>> {
    return async () => {};
  }

  // ---- fair scheduler ----
  async userSetScheduling(p: port.UserSetSchedulingParams) { return audited(this.db, p.audit, () => fair.setScheduling(this.db, p), changedUser); }

  // ---- audit log (the admin writes above record theirs through `audited`) ----
  async auditList(p: port.AuditListParams) { return auditList(this.db, p); }

  // ---- retention ----
  async retentionDeleteJobs(p: port.RetentionDeleteJobsParams) { return retention.deleteJobs(this.db, p); }

  async jobQueueStats() {
    const rows = this.db.sql(`SELECT model_id AS modelId, COUNT(*) AS pending, MIN(created_at) AS oldestCreatedAt
      FROM jobs WHERE status = 'pending' GROUP BY model_id`).all() as { modelId: string | null; pending: number; oldestCreatedAt: number }[];
    return rows;
  }

  async webhookOldestPendingAt() {
    return (this.db.sql(`SELECT MIN(created_at) AS at FROM webhook_deliveries WHERE status = 'pending'`).get() as { at: number | null }).at;
  }

  async schemaVersion(): Promise<number> {
    return (this.db.sql('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
