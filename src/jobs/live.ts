import { isTerminal, type JobRecord, type JobStatus, type UserRecord } from '../store/store.js';
import type { JobsDeps } from './deps.js';
import { presentJob } from './present.js';
import { allWithLinks, withLinks } from './links.js';

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

  async start(stored: JobRecord, queuePosition?: number): Promise<LiveEvent[]> {
    const job = await withLinks(stored, this.deps.links);
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
    const stored = await this.deps.store.jobGetById({ id: this.jobId });
    if (!stored) {
      // Jobs are never deleted; if one is, there is nothing more to tell.
      this.done = true;
      return [];
    }
    // Links are made now, by this process, for this event.
    const job = await withLinks(stored, this.deps.links);
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

/** How many job ids an account stream remembers (statuses told). */
const REMEMBER = 5_000;

/** A job read once is offered to every stream of its account: its public shape is made once too. */
const presented = new WeakMap<JobRecord, Record<string, unknown>>();
function presentOnce(job: JobRecord): Record<string, unknown> {
  let data = presented.get(job);
  if (!data) {
    data = presentJob(job);
    presented.set(job, data);
  }
  return data;
}

/**
 * An account's stream: a status event for each job of the account whenever its status is not
 * the one last told. `start()` tells the unfinished jobs; `offer(jobs)` is given jobs of the
 * account that may have changed (read once for all of the account's streams, see
 * account-feeds.ts) and tells those whose status is new to this stream.
 */
export class AccountWatch {
  private readonly told = new Map<string, JobStatus>();
  /** Jobs told and not finished: the ones a sweep must look at even when they are not among the newest. */
  private readonly open = new Set<string>();

  constructor(private readonly deps: JobsDeps, readonly user: UserRecord) {}

  async start(): Promise<LiveEvent[]> {
    const recent = await this.deps.store.jobList({ userId: this.user.id, limit: 100 });
    for (const job of recent.reverse()) this.remember(job);
    const events: LiveEvent[] = [];
    for (const status of ['pending', 'processing'] as const) {
      const jobs = await allWithLinks(await this.deps.store.jobList({ userId: this.user.id, status, limit: 100 }), this.deps.links);
      for (const job of jobs.reverse()) {
        this.remember(job);
        events.push({ event: 'status', data: presentJob(job) });
      }
    }
    return events;
  }

  /** `jobs` come with their links made (account-feeds.ts renders them once for every stream). */
  offer(jobs: readonly JobRecord[]): LiveEvent[] {
    const events: LiveEvent[] = [];
    for (const job of jobs) {
      if (job.userId !== this.user.id || this.told.get(job.id) === job.status) continue;
      this.remember(job);
      events.push({ event: 'status', data: presentOnce(job) });
    }
    return events;
  }

  /** Ids of the jobs told whose last status told was not final. */
  unfinished(): IterableIterator<string> {
    return this.open.values();
  }

  private remember(job: JobRecord): void {
    this.told.delete(job.id);
    this.told.set(job.id, job.status);
    if (isTerminal(job.status)) this.open.delete(job.id);
    else this.open.add(job.id);
    if (this.told.size > REMEMBER) {
      const oldest = this.told.keys().next().value as string;
      this.told.delete(oldest);
      this.open.delete(oldest);
    }
  }
}
