import { EventEmitter } from 'node:events';
import { isTerminal, type JobNotice, type JobRecord, type Store } from '../store/store.js';

/**
 * News of job changes inside one process: the API tells the executor about new and cancelled
 * jobs, the executor tells waiting requests about finished ones. With a shared store, the
 * store's own notifications (PostgreSQL LISTEN/NOTIFY) are fed in here too, so the same
 * listeners hear of changes made by other processes. Nothing depends on a notice arriving:
 * executors also poll and renew leases, waiters also read the store.
 */
export class JobEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting request: many may wait at once.
    this.emitter.setMaxListeners(0);
  }

  /** A job was created (or notices may have been missed): an idle executor should look for work. */
  created(job?: JobNotice): void {
    this.emitter.emit('created', job);
  }

  /** A job changed: its status, or (status processing) its progress or partial output. */
  changed(job: JobNotice): void {
    this.emitter.emit('changed', job);
    this.emitter.emit(`changed:${job.id}`, job);
  }

  /** The process is shutting down: waiting requests answer with what they have. */
  closing(): void {
    this.emitter.emit('closing');
  }

  /** `fn` gets the new job's notice, or nothing when notices may have been missed. */
  onCreated(fn: (job?: JobNotice) => void): () => void {
    this.emitter.on('created', fn);
    return () => this.emitter.off('created', fn);
  }

  onChanged(fn: (job: JobNotice) => void): () => void {
    this.emitter.on('changed', fn);
    return () => this.emitter.off('changed', fn);
  }

  onJobChanged(id: string, fn: (job: JobNotice) => void): () => void {
    this.emitter.on(`changed:${id}`, fn);
    return () => this.emitter.off(`changed:${id}`, fn);
  }

  onClosing(fn: () => void): () => void {
    this.emitter.on('closing', fn);
    return () => this.emitter.off('closing', fn);
  }
}

/**
 * Resolves with the job once it is terminal, or with its latest state after `ms`. A notice of
 * a terminal status makes it read the job at once; it also reads the store every `pollMs`, in
 * case a notice never comes.
 */
export async function waitForTerminal(store: Store, events: JobEvents, job: JobRecord, ms: number, pollMs = 500): Promise<JobRecord> {
  if (isTerminal(job.status) || ms <= 0) return job;
  return new Promise<JobRecord>((resolve) => {
    let latest = job;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      offChanged();
      offClosing();
      clearTimeout(deadline);
      clearInterval(poll);
      resolve(latest);
    };
    const check = () => {
      store.jobGetById({ id: job.id }).then((j) => {
        if (j) latest = j;
        if (j && isTerminal(j.status)) finish();
      }, () => { /* a failed read just waits for the next one */ });
    };
    const offChanged = events.onJobChanged(job.id, (n) => { if (isTerminal(n.status)) check(); });
    const offClosing = events.onClosing(finish);
    const deadline = setTimeout(finish, ms);
    const poll = setInterval(check, pollMs);
  });
}
