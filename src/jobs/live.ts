import { isTerminal, type JobRecord, type JobStatus, type UserRecord } from '../store/store.js';
import type { JobsDeps } from './deps.js';
import { presentJob } from './present.js';

/**
 * What the event streams tell (GET /jobs/:id/events, GET /jobs/events): the use cases that
 * read jobs and decide what is new since the last look. The route frames them as server-sent
 * events and decides when to look (a notice of a change, or a timer).
 */
export type LiveEvent =
  | { event: 'status'; data: Record<string, unknown> }
  | { event: 'progress'; data: { id: string; progress: number } }
  | { event: 'log'; data: { id: string; seq: number; line: string } }
  | { event: 'node'; data: { id: string; node_id: string; output: unknown } };

const LOG_PAGE = 500;

function nodeOutputs(job: JobRecord): Record<string, unknown> {
  if (job.runType !== 'app') return {};
  const out = (job.outputData as { node_outputs?: unknown } | null)?.node_outputs;
  return out && typeof out === 'object' && !Array.isArray(out) ? (out as Record<string, unknown>) : {};
}

/**
 * One job's stream. `start()` gives the current state: its status event, then what the job
 * already has (progress, log lines, node outputs) unless it is terminal already. Each
 * `refresh()` re-reads the job and gives what changed, in order; a terminal status comes last,
 * after the outputs and lines that came with it, and ends the stream (`done`).
 */
export class JobWatch {
  private status: JobStatus | null = null;
  private progress: number | null = null;
  private logSeq = 0;
  private readonly nodes = new Set<string>();
  done = false;

  constructor(private readonly deps: JobsDeps, readonly jobId: string) {}

  async start(job: JobRecord, queuePosition?: number): Promise<LiveEvent[]> {
    this.status = job.status;
    const events: LiveEvent[] = [{ event: 'status', data: presentJob(job, queuePosition) }];
    if (isTerminal(job.status)) {
      this.done = true;
      return events;
    }
    events.push(...(await this.details(job)));
    return events;
  }

  async refresh(): Promise<LiveEvent[]> {
    if (this.done) return [];
    const job = await this.deps.store.jobGetById({ id: this.jobId });
    if (!job) {
      // Jobs are never deleted; if one is, there is nothing more to tell.
      this.done = true;
      return [];
    }
    const details = await this.details(job);
    if (job.status === this.status) return details;
    this.status = job.status;
    const position = job.status === 'pending' ? await this.deps.store.jobQueuePosition({ id: job.id, createdAt: job.createdAt }) : undefined;
    const status: LiveEvent = { event: 'status', data: presentJob(job, position) };
    if (!isTerminal(job.status)) return [status, ...details];
    this.done = true;
    return [...details, status];
  }

  /** Progress, log lines and node outputs not told yet. */
  private async details(job: JobRecord): Promise<LiveEvent[]> {
    const events: LiveEvent[] = [];
    for (const [nodeId, output] of Object.entries(nodeOutputs(job))) {
      if (this.nodes.has(nodeId)) continue;
      this.nodes.add(nodeId);
      events.push({ event: 'node', data: { id: job.id, node_id: nodeId, output } });
    }
    for (const line of await this.newLogLines()) {
      events.push({ event: 'log', data: { id: job.id, seq: line.seq, line: line.line } });
    }
    if (job.progress !== null && job.progress !== this.progress) {
      this.progress = job.progress;
      events.push({ event: 'progress', data: { id: job.id, progress: job.progress } });
    }
    return events;
  }

  private async newLogLines(): Promise<{ seq: number; line: string }[]> {
    // The store lists a job's lines from the first: read past the ones told, a page more each time.
    for (let limit = this.logSeq + LOG_PAGE; ; limit += LOG_PAGE * 4) {
      const lines = await this.deps.store.jobLogList({ id: this.jobId, limit });
      if (lines.length < limit) {
        const fresh = lines.filter((l) => l.seq > this.logSeq);
        const last = fresh[fresh.length - 1];
        if (last) this.logSeq = last.seq;
        return fresh;
      }
    }
  }
}

/** How many job ids an account stream remembers (statuses told, other accounts' jobs). */
const REMEMBER = 5_000;

function remember<V>(map: Map<string, V>, id: string, value: V): void {
  map.delete(id);
  map.set(id, value);
  if (map.size > REMEMBER) map.delete(map.keys().next().value as string);
}

/**
 * An account's stream: a status event for each job of the account whenever its status is not
 * the one last told. `start()` tells the unfinished jobs; `check(id)` looks at one job after a
 * notice; `sweep()` looks at the newest jobs and the unfinished ones told, for notices that
 * never came (changes made by other processes of a store without notifications).
 */
export class AccountWatch {
  private readonly told = new Map<string, JobStatus>();
  /** Jobs of other accounts, so their notices cost no read. */
  private readonly foreign = new Map<string, true>();

  constructor(private readonly deps: JobsDeps, private readonly user: UserRecord) {}

  async start(): Promise<LiveEvent[]> {
    const recent = await this.deps.store.jobList({ userId: this.user.id, limit: 100 });
    for (const job of recent.reverse()) remember(this.told, job.id, job.status);
    const events: LiveEvent[] = [];
    for (const status of ['pending', 'processing'] as const) {
      const jobs = await this.deps.store.jobList({ userId: this.user.id, status, limit: 100 });
      for (const job of jobs.reverse()) {
        remember(this.told, job.id, job.status);
        events.push({ event: 'status', data: presentJob(job) });
      }
    }
    return events;
  }

  async check(id: string): Promise<LiveEvent[]> {
    if (this.foreign.has(id)) return [];
    const job = await this.deps.store.jobGetById({ id, userId: this.user.id });
    if (!job) {
      remember(this.foreign, id, true);
      return [];
    }
    return this.compare(job);
  }

  async sweep(): Promise<LiveEvent[]> {
    const recent = await this.deps.store.jobList({ userId: this.user.id, limit: 50 });
    const events: LiveEvent[] = [];
    const seen = new Set<string>();
    for (const job of recent.reverse()) {
      seen.add(job.id);
      events.push(...this.compare(job));
    }
    const unfinished = [...this.told].filter(([id, status]) => !seen.has(id) && !isTerminal(status)).map(([id]) => id);
    for (const id of unfinished) events.push(...(await this.check(id)));
    return events;
  }

  private compare(job: JobRecord): LiveEvent[] {
    if (this.told.get(job.id) === job.status) return [];
    remember(this.told, job.id, job.status);
    return [{ event: 'status', data: presentJob(job) }];
  }
}
