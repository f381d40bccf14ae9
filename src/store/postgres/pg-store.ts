import type { LeasedLimiter } from '../../ratelimit/leased-window.js';
import type * as port from '../store.js';
import type { JobNotice } from '../vocabulary.js';
import { assertCreditAmount } from '../limits.js';
import { changedGrant, changedOwned, changedUser, changedWorker } from '../audit-targets.js';
import { PgDb } from './db.js';
import { PgBatched } from './batched.js';
import { PgListener } from './listener.js';
import { migratePostgres } from './migrate.js';
import * as apps from './apps.js';
import * as fair from './fair.js';
import { audited, list as auditList } from './audit.js';
import * as jobs from './jobs.js';
import * as keys from './keys.js';
import * as ledger from './ledger.js';
import * as queue from './queue.js';
import * as rateLimits from './rate-limits.js';
import * as retention from './retention.js';
import { AdvisoryLeader } from './leader.js';
import * as users from './users.js';
import * as webhooks from './webhooks.js';
import * as workers from './workers.js';
import * as outputRewrites from './output-rewrites.js';

export interface PgStoreOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Keeps genjobs' tables in this schema. (Default: the connection's search_path, usually public) */
  schema?: string;
  /** Connections in this process's pool. (Default: 10) */
  poolSize?: number;
  /** Told about connection trouble that no request is waiting on (idle clients, the listener). (Default: ignored) */
  onBackgroundError?: (err: unknown) => void;
}

/**
 * The shared store: PostgreSQL through node-postgres. This class only routes each call of the
 * port: the SQL of each noun is in its own module (`jobs.ts`, `users.ts`, `ledger.ts`,
 * `keys.ts`, `apps.ts`, `workers.ts`, `webhooks.ts`, `rate-limits.ts`, `audit.ts`), the connection plumbing
 * in `db.ts`, and the hot calls that share a statement per turn in `batched.ts`.
 *
 * Each move is one guarded statement (or one short transaction); claims use FOR UPDATE SKIP
 * LOCKED so executors never wait on each other; every job change is announced with NOTIFY (a
 * trigger), heard through `subscribe`. Rate-limit checks are answered from leases.
 */
export class PgStore implements port.Store {
  readonly dialect = 'postgres' as const;
  private schemaName = 'public';
  private readonly leader: AdvisoryLeader;
  private readonly batched: PgBatched;
  /** Requests of a key are reserved in the shared window a lease at a time (src/ratelimit/leased-window.ts). */
  private readonly limiter: LeasedLimiter;

  private constructor(private readonly db: PgDb) {
    this.batched = new PgBatched(db);
    this.limiter = rateLimits.leasedLimiter(db);
    this.leader = new AdvisoryLeader(db.config, () => this.schemaName, db.onBackgroundError);
  }

  /** Connects and applies migrations. (Old rate-limit slots are the maintenance service's to prune.) */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const store = new PgStore(new PgDb({
      url: opts.url, schema: opts.schema, poolSize: opts.poolSize ?? 10, onBackgroundError: opts.onBackgroundError ?? (() => {}),
    }));
    store.schemaName = await store.db.withClient(async (client) => {
      await migratePostgres(client, opts.schema);
      return (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
    });
    return store;
  }

  // ---- users and credits ----
  userCreate(p: port.UserCreateParams) { return audited(this.db, p.audit, (db) => users.create(db, p), changedUser); }
  userGetById(p: port.UserGetByIdParams) { return users.getById(this.db, p); }
  userList(p: port.UserListParams) { return users.list(this.db, p); }
  userGrantCredits(p: port.UserGrantCreditsParams) { return audited(this.db, p.audit, (db) => users.grantCredits(db, p), changedGrant); }
  userSetApiAccess(p: port.UserSetApiAccessParams) { return audited(this.db, p.audit, (db) => users.setApiAccess(db, p), changedUser); }

  // ---- API keys ----
  apiKeyCreate(p: port.ApiKeyCreateParams) { return audited(this.db, p.audit, (db) => keys.create(db, p), changedOwned); }
  apiKeyGetByHash(p: port.ApiKeyGetByHashParams) { return this.batched.apiKeyGetByHash(p.keyHash); }
  apiKeyListByUser(p: port.ApiKeyListByUserParams) { return keys.listByUser(this.db, p); }
  apiKeyRevoke(p: port.ApiKeyRevokeParams) { return audited(this.db, p.audit, (db) => keys.revoke(db, p), changedOwned); }

  // ---- private apps ----
  appCreate(p: port.AppCreateParams) { return audited(this.db, p.audit, (db) => apps.create(db, p), changedOwned); }
  appUpdate(p: port.AppUpdateParams) { return audited(this.db, p.audit, (db) => apps.update(db, p), changedOwned); }
  appSetActive(p: port.AppSetActiveParams) { return audited(this.db, p.audit, (db) => apps.setActive(db, p), changedOwned); }
  appGetById(p: port.AppGetByIdParams) { return apps.getById(this.db, p); }
  appListByUser(p: port.AppListByUserParams) { return apps.listByUser(this.db, p); }

  // ---- jobs: creation and reads ----
  /** Without an Idempotency-Key, creations of one turn share a statement; with one, each takes its key in its own transaction. */
  async jobCreateCharged(p: port.JobCreateChargedParams): Promise<port.JobCreateChargedResult> {
    assertCreditAmount(p.cost, 'cost');
    if (p.idempotency) return jobs.createIdempotent(this.db, { ...p, idempotency: p.idempotency });
    // The batched creation stores the default priority; a run that asks for another is created alone.
    return p.priority === undefined || p.priority === 'normal' ? this.batched.jobCreate(p) : jobs.createCharged(this.db, p);
  }
  jobGetById(p: port.JobGetByIdParams) { return this.batched.jobGetById(p); }
  jobList(p: port.JobListParams) { return jobs.list(this.db, p); }
  jobQueuePosition(p: port.JobQueuePositionParams) { return this.batched.jobQueuePosition(p); }
  jobQueueSummary() { return queue.summary(this.db); }

  // ---- jobs: moves ----
  jobCancel(p: port.JobCancelParams) { return jobs.cancel(this.db, p); }
  jobClaim(p: port.JobClaimParams) { return fair.claim(this.db, p); }
  jobLeaseExtend(p: port.JobLeaseExtendParams) { return jobs.leaseExtend(this.db, p); }
  jobComplete(p: port.JobCompleteParams) { return this.batched.jobComplete(p); }
  jobFail(p: port.JobFailParams) { return jobs.fail(this.db, p); }
  jobSetOutput(p: port.JobSetOutputParams) { return jobs.setOutput(this.db, p); }

  // ---- outputs: rows written before file references ----
  jobOutputRewritesNext(p: port.JobOutputRewritesNextParams) { return outputRewrites.next(this.db, p); }
  jobOutputRewrite(p: port.JobOutputRewriteParams) { return outputRewrites.rewrite(this.db, p); }
  jobOutputRewritesLeft() { return outputRewrites.left(this.db); }
  jobRelease(p: port.JobReleaseParams) { return jobs.release(this.db, p); }
  jobFailAbandoned(p: port.JobFailAbandonedParams) { return jobs.failAbandoned(this.db, p); }
  jobListPastDeadline(p: port.JobListPastDeadlineParams) { return jobs.listPastDeadline(this.db, p); }
  jobReportProgress(p: port.JobReportProgressParams) { return jobs.reportProgress(this.db, p); }
  jobLogList(p: port.JobLogListParams) { return jobs.logList(this.db, p); }

  // ---- workers ----
  workerCreate(p: port.WorkerCreateParams) { return audited(this.db, p.audit, (db) => workers.create(db, p), changedWorker); }
  workerAuthenticate(p: port.WorkerAuthenticateParams) { return workers.authenticate(this.db, p); }
  workerList() { return workers.list(this.db); }
  workerRevoke(p: port.WorkerRevokeParams) { return audited(this.db, p.audit, (db) => workers.revoke(db, p), changedWorker); }

  // ---- webhooks ----
  webhookClaimDue(p: port.WebhookClaimDueParams) { return webhooks.claimDue(this.db, p); }
  webhookRecordAttempt(p: port.WebhookRecordAttemptParams) { return webhooks.recordAttempt(this.db, p); }
  webhookFailEndpoint(p: port.WebhookFailEndpointParams) { return webhooks.failEndpoint(this.db, p); }
  webhookListByJob(p: port.WebhookListByJobParams) { return webhooks.listByJob(this.db, p); }
  userWebhookSecrets(p: port.UserWebhookSecretsParams) { return webhooks.secrets(this.db, p); }
  userSetWebhookSecret(p: port.UserSetWebhookSecretParams) { return webhooks.setSecret(this.db, p); }

  // ---- ledger and usage ----
  ledgerList(p: port.LedgerListParams) { return ledger.list(this.db, p); }
  accountUsage(p: port.AccountUsageParams) { return ledger.usage(this.db, p); }

  // ---- across processes ----
  rateLimitConsume(p: port.RateLimitConsumeParams) { return this.limiter.consume(p.keyId, p.limit, p.now); }
  rateLimitPrune(p: port.RateLimitPruneParams) { return rateLimits.deleteOldSlots(this.db, p.before); }
  leaderTryAcquire(p: port.LeaderParams) { return this.leader.tryAcquire(p.name); }
  leaderRelease(p: port.LeaderParams) { return this.leader.release(p.name); }

  async subscribe(onNotice: (notice: JobNotice | null) => void): Promise<() => Promise<void>> {
    const listener = new PgListener(this.db.config, `genjobs:${this.schemaName}`, onNotice, this.db.onBackgroundError);
    await listener.start();
    return () => listener.stop();
  }

  // ---- fair scheduler ----
  userSetScheduling(p: port.UserSetSchedulingParams) { return audited(this.db, p.audit, (db) => fair.setScheduling(db, p), changedUser); }

  // ---- audit log (the admin writes above record theirs through `audited`) ----
  auditList(p: port.AuditListParams) { return auditList(this.db, p); }

  // ---- retention ----
  retentionDeleteJobs(p: port.RetentionDeleteJobsParams) { return retention.deleteJobs(this.db, p); }

  async jobQueueStats() {
    const rows = await this.db.q<{ model_id: string | null; pending: number; oldest: string }>(`SELECT model_id, COUNT(*)::int AS pending, MIN(created_at)::text AS oldest
      FROM jobs WHERE status = 'pending' GROUP BY model_id`);
    return rows.map((r) => ({ modelId: r.model_id, pending: r.pending, oldestCreatedAt: Number(r.oldest) }));
  }

  async webhookOldestPendingAt() {
    const row = await this.db.one<{ at: string | null }>(`SELECT MIN(created_at)::text AS at FROM webhook_deliveries WHERE status = 'pending'`);
    return row?.at == null ? null : Number(row.at);
  }

  async schemaVersion(): Promise<number> {
    return (await this.db.one<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_migrations'))?.v ?? 0;
  }

  async close(): Promise<void> {
    await this.leader.releaseAll();
    await this.limiter.releaseAll();
    await this.db.end();
  }
}
