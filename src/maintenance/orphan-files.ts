import type { Logger } from 'pino';
import { isTerminal, type JobRecord, type Store } from '../store/store.js';
import { jobOfKey } from '../outputs/form.js';
import { filesOf } from '../outputs/render.js';
import { keyOfFileUrl } from '../outputs/urls.js';
import type { Chore } from './service.js';

/** A stored file as the sweep sees it (the FileStorage's listing, src/files/storage.ts). */
export interface SweptFile {
  key: string;
  lastModified: Date;
  /** An unfinished write the adapter left behind: never a job's file. */
  partial?: boolean;
}

/** What the sweep needs of the file storage: a walk over every file, and deletion by key. */
export interface SweptStorage {
  list(p: { after?: string | null; limit: number }): Promise<{ files: SweptFile[]; next: string | null }>;
  delete(keys: readonly string[]): Promise<void>;
}

export interface OrphanSweepDeps {
  store: Store;
  files: SweptStorage;
  logger: Logger;
  /** Told how many files each pass removed (a metric). (Default: nobody) */
  onDeleted?: (count: number) => void;
}

export interface OrphanSweepOptions {
  /** Files younger than this are never touched, whatever they look like. */
  minAgeMs: number;
  everyMs: number;
  /** Files listed per page. (Default: 1000) */
  pageSize?: number;
  /** Pages a pass looks at; the next pass goes on from there, and after the last page starts over. (Default: 10) */
  pagesPerPass?: number;
}

/**
 * The keys a job's stored output names: its `$file` references, and the file URLs of outputs
 * stored before references (not rewritten yet), whatever address they name.
 */
function namedKeys(job: JobRecord): Set<string> {
  const keys = new Set(filesOf(job.outputData).map((f) => f.key));
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      const key = keyOfFileUrl(value, job.id);
      if (key) keys.add(key);
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(job.outputData);
  return keys;
}

/**
 * Orphaned output files: files no job will ever show. A file is removed when it is older than
 * `minAgeMs` and either (1) its job has no row (the job's row never committed, retention deleted
 * the row and crashed before the files, or a deletion failed), or (2) its job is finished and
 * its stored output does not name it (a worker's upload it never reported, an attempt that lost
 * its lease, a job that failed or was cancelled after writing files). Files of pending and
 * processing jobs are never touched: an attempt may still name them. The local folder's
 * temporary files of writes that never finished go too, once as old.
 *
 * The walk goes through storage a few pages per pass, resuming where the last pass stopped (in
 * this process: a new leader starts from the beginning), so a pass costs a bounded number of
 * listings and job reads whatever the storage holds.
 */
export function sweepOrphanFiles(deps: OrphanSweepDeps, o: OrphanSweepOptions): Chore {
  const pageSize = o.pageSize ?? 1_000;
  const pagesPerPass = o.pagesPerPass ?? 10;
  let cursor: string | null = null;
  return {
    name: 'sweep-orphan-files',
    everyMs: o.everyMs,
    async run(now, signal) {
      const started = Date.now();
      let listed = 0;
      let removed = 0;
      for (let page = 0; page < pagesPerPass && !signal?.aborted; page++) {
        const { files, next } = await deps.files.list({ after: cursor, limit: pageSize });
        cursor = next;
        listed += files.length;
        const orphans = await orphansOf(deps.store, files.filter((f) => now - f.lastModified.getTime() >= o.minAgeMs));
        if (orphans.length > 0) {
          await deps.files.delete(orphans);
          removed += orphans.length;
        }
        if (next === null) break;
      }
      const fields = { chore: 'sweep-orphan-files', listed, removed, ms: Date.now() - started };
      if (removed > 0) {
        deps.onDeleted?.(removed);
        deps.logger.info(fields, 'orphan files: files no job names removed');
      } else deps.logger.debug(fields, 'orphan files: none found');
      return removed;
    },
  };
}

/** Of these files (old enough), the ones no job will ever show. */
async function orphansOf(store: Store, files: SweptFile[]): Promise<string[]> {
  const orphans: string[] = [];
  const byJob = new Map<string, string[]>();
  for (const f of files) {
    if (f.partial) orphans.push(f.key);
    else {
      const jobId = jobOfKey(f.key);
      byJob.set(jobId, [...(byJob.get(jobId) ?? []), f.key]);
    }
  }
  for (const [jobId, keys] of byJob) {
    const job = await store.jobGetById({ id: jobId });
    if (job && !isTerminal(job.status)) continue;
    const named = job ? namedKeys(job) : new Set<string>();
    orphans.push(...keys.filter((k) => !named.has(k)));
  }
  return orphans;
}
