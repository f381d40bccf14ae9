import type { JobRecord } from '../store/store.js';
import { needsRender, renderOutput, type LinkFile } from '../outputs/render.js';
import { isFinal } from './final-jobs.js';

/**
 * How this process turns the files a job's output names into links, at the moment it shows the
 * job (every answer, event and webhook body does it): the store keeps references, never URLs.
 */
export interface OutputLinks {
  link: LinkFile;
  /**
   * Whether a file's link stays the same for the life of the process (links served by this
   * process at its PUBLIC_URL), so a rendered job may be kept and shown again. Presigned links
   * are made afresh at each read. (Default: false)
   */
  stable?: boolean;
}

/**
 * Rendered records of final jobs (the read cache hands out the same record again and again), made
 * once per record when links are stable. Records of jobs that can still change are read afresh
 * each time: keeping their renders would only cost.
 */
const rendered = new WeakMap<JobRecord, JobRecord>();

/**
 * The job as its owner sees it: the same record when its output names no file (no copy, no
 * walk beyond a glance at its keys), else a copy whose output holds links.
 */
export async function withLinks(job: JobRecord, links: OutputLinks): Promise<JobRecord> {
  if (!needsRender(job.outputData)) return job;
  const keep = links.stable === true && isFinal(job);
  if (keep) {
    const known = rendered.get(job);
    if (known) return known;
  }
  const out: JobRecord = { ...job, outputData: await renderOutput(job.outputData, links.link) };
  if (keep) rendered.set(job, out);
  return out;
}

/** `withLinks` for several jobs, in their order. */
export function allWithLinks(jobs: readonly JobRecord[], links: OutputLinks): Promise<JobRecord[]> {
  return Promise.all(jobs.map((j) => withLinks(j, links)));
}
