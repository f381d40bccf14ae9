import { createLogUpdate } from 'log-update';
import type { Job } from '@genjobs/sdk';

/** What the progress display knows beyond the job: how many nodes an app run goes through. */
export interface ProgressContext {
  nodeCount?: number;
}

/** How a job stands, in a few words: status, queue position, progress, app nodes done of total. */
export function describeJob(job: Job, ctx: ProgressContext): string {
  const parts: string[] = [job.status];
  if (job.status === 'pending' && job.queue_position !== undefined) parts.push(`queue position ${job.queue_position}`);
  if (job.progress !== null && job.status === 'processing') parts.push(`${Math.round(job.progress * 100)}%`);
  if (job.run_type === 'app') {
    const done = Object.keys((job.output_data as { node_outputs?: object } | null)?.node_outputs ?? {}).length;
    parts.push(ctx.nodeCount ? `nodes ${done}/${ctx.nodeCount}` : `nodes done ${done}`);
  }
  return parts.join(' · ');
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Shows a job while it is waited for: where `stream` is a terminal, one line redrawn in place; elsewhere a plain line per change. */
export interface ProgressView {
  update(job: Job): void;
  /** Clears the live line (the final answer is printed by the command). */
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function progressView(stream: NodeJS.WriteStream, ctx: ProgressContext, startedAt = Date.now()): ProgressView {
  let last: Job | undefined;
  if (!stream.isTTY) {
    let printed = '';
    return {
      update(job) {
        const line = `${job.id} ${describeJob(job, ctx)}`;
        if (line !== printed) stream.write(`${line} (${seconds(Date.now() - startedAt)})\n`);
        printed = line;
      },
      stop() {},
    };
  }
  // A terminal that reports no size (0 columns or rows, as some pseudo-terminals do) would get
  // nothing drawn at all: fall back to 80x24.
  const sized = {
    write: (text: string) => stream.write(text),
    get columns() { return stream.columns || 80; },
    get rows() { return stream.rows || 24; },
  } as unknown as NodeJS.WriteStream;
  const live = createLogUpdate(sized, { showCursor: false });
  let frame = 0;
  const render = () => {
    if (!last) return;
    live(`${FRAMES[frame++ % FRAMES.length]} ${last.id.slice(0, 8)} ${describeJob(last, ctx)} · ${seconds(Date.now() - startedAt)}`);
  };
  const timer = setInterval(render, 100);
  return {
    update(job) {
      last = job;
      render();
    },
    stop() {
      clearInterval(timer);
      live.clear();
      live.done();
    },
  };
}
