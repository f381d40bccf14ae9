/**
 * The words genjobs uses, each said once.
 *
 * - account (user): who owns keys, jobs and a credit balance.
 * - API key: a bearer secret (`sk_live_...`) that acts for one account; only its hash is stored.
 * - model: an entry of the catalog; it names its provider, its cost and its settings.
 * - run: one accepted request to run a model (or an app); every run becomes one job.
 * - job: the durable record of a run, moving through the statuses in `jobs/status.ts`.
 * - provider: the code that actually produces a model's output (built-in, HTTP service, worker).
 * - executor: the loop that claims jobs, runs them through their provider and records the result.
 * - lease: an executor's time-limited claim on a processing job. It is renewed while the work
 *   runs; a lease that runs out means its holder died, and another executor may take the job.
 * - lease token: a number bumped at every claim; completing, failing or releasing a job requires
 *   the token of the current claim, so a holder that lost its lease can change nothing.
 * - ledger entry: one movement of credits (grant, charge, refund). The balance is their sum.
 */
export {};
