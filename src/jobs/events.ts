import { EventEmitter } from 'node:events';
import type { JobRecord, Store } from '../store/store.js';
import { isTerminal } from './status.js';

/**
 * In-process news of job changes: the API tells the executor about new and cancelled jobs, the
 * executor tells waiting requests about finished ones. Another process learns the same from the
 * store (polling, lease renewal), so nothing depends on these events arriving.
 */
export class JobEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting request: many may wait at once.
    this.emitter.setMaxListeners(0);
  }

  /** A job was created: an idle executor should look for work. */
  created(job: JobRecord): void {
    this.emitter.emit('created', job);
  }

  /** A job changed status (or output). */
  changed(job: JobRecord): void {
    this.emitter.emit('changed', job);
    this.emitter.emit(`changed:${job.id}`, job);
  }

  /** The process is shutting down: waiting requests answer with what they have. */
  closing(): void {
    this.emitter.emit('closing');
  }

  onClosing(fn: () => void): () => void {
    this.emitter.on('closing', fn);
    return () => this.emitter.off('closing', fn);
  }

  onCreated(fn: (job: JobRecord) => void): () => void {
    this.emitter.on('created', fn);
    return () => this.emitter.off('created', fn);
  }

  onChanged(fn: (job: JobRecord) => void): () => void {
    this.emitter.on('changed', fn);
    return () => this.emitter.off('changed', fn);
  }

  onJobChanged(id: string, fn: (job: JobRecord) => void): () => void {
    this.emitter.on(`changed:${id}`, fn);
    return () => this.emitter.off(`changed:${id}`, fn);
  }
}

/**
 * Resolves with the job once it is terminal, or with its latest state after `ms`. Listens for
 * in-process events and also reads the store now and then, for jobs run by another process.
 */
export async function waitForTerminal(store: Store, events: JobEvents, job: JobRecord, ms: number, pollMs = 500): Promise<JobRecord> {
  if (isTerminal(job.status) || ms <= 0) return job;
  return new Promise<JobRecord>((resolve) => {
    let latest = job;
    let settled = false;
    const finish = (j: JobRecord) => {
      if (settled) return;
      settled = true;
      off();
      clearTimeout(deadline);
      clearInterval(poll);
      resolve(j);
    };
    const offChanged = events.onJobChanged(job.id, (j) => {
      latest = j;
      if (isTerminal(j.status)) finish(j);
    });
    const offClosing = events.onClosing(() => finish(latest));
    const off = () => { offChanged(); offClosing(); };
    const deadline = setTimeout(() => finish(latest), ms);
    const poll = setInterval(() => {
      store.jobGetById({ id: job.id }).then((j) => {
        if (j) latest = j;
        if (j && isTerminal(j.status)) finish(j);
      }, () => { /* a failed read just waits for the next one */ });
    }, pollMs);
  });
}
