import { isTerminal, type GenJobs, type Job } from '@genjobs/sdk';
import { EXIT } from '../exit.js';
import { describeFinished, download, print, printJson } from './output.js';
import { progressView } from './progress.js';

export interface FollowOptions {
  /** Wait for the job to end (`--download` waits too). */
  wait: boolean;
  /** `--timeout`, in ms. */
  timeoutMs?: number;
  json?: boolean;
  /** `--download DIR`. */
  download?: string;
  /** How many nodes an app run goes through, for the progress line. */
  nodeCount?: number;
}

/** The exit code of a job's outcome: completed (or still running, not waited for) 0, failed, cancelled. */
export function exitCodeOf(job: Job): number {
  if (job.status === 'failed') return EXIT.failed;
  if (job.status === 'cancelled') return EXIT.cancelled;
  return EXIT.ok;
}

/**
 * Shows a job the command has started or looked up: waits for it when asked (a live line on a
 * terminal, plain lines otherwise, both on stderr), prints it (the result on stdout, JSON with
 * `--json`), downloads its files, and sets the exit code from its outcome.
 */
export async function follow(client: GenJobs, first: Job, o: FollowOptions): Promise<void> {
  let job = first;
  if (!isTerminal(job) && (o.wait || o.download)) {
    const view = progressView(process.stderr, { nodeCount: o.nodeCount });
    view.update(job);
    try {
      job = await client.jobs.wait(job.id, { timeoutMs: o.timeoutMs, onUpdate: (j) => view.update(j) });
    } finally {
      view.stop();
    }
  }
  const saved = o.download && job.status === 'completed' ? await download(job, o.download) : [];
  if (o.json) printJson(saved.length ? { ...job, downloaded: saved } : job);
  else if (isTerminal(job)) {
    print(describeFinished(job));
    for (const file of saved) print(`saved ${file}`);
  } else {
    print(`${job.status}  ${job.id}${job.queue_position !== undefined ? `  (queue position ${job.queue_position})` : ''}`);
    print(`follow it with: genjobs jobs watch ${job.id}`);
  }
  process.exitCode = exitCodeOf(job);
}
