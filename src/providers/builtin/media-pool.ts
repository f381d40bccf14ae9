import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { runMediaTask, type MediaTask } from './media/tasks.js';

/** Runs the CPU-heavy part of a built-in model and resolves to the encoded file. */
export interface MediaRunner {
  run(task: MediaTask, signal: AbortSignal): Promise<Buffer>;
}

/** How long an idle media thread is kept before it exits (a new one starts on the next task). */
const IDLE_MS = 60_000;

/** The inputs a task hands to the thread without copying: buffers that own their memory. */
function transferable(task: MediaTask): ArrayBuffer[] {
  const views = task.kind === 'upscale' ? [task.image] : task.kind === 'collage' ? task.images : [];
  const list = views
    .filter((v) => v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer)
    .map((v) => v.buffer as ArrayBuffer);
  return [...new Set(list)];
}

/**
 * The process's pool of media worker threads (piscina), so rendering and encoding never block
 * the event loop that answers HTTP. Threads start on the first task, not with the process.
 * A task whose job is cancelled is dropped from the queue, or its thread is stopped mid-work.
 */
export class MediaPool implements MediaRunner {
  private pool: Piscina | null = null;
  private closed = false;
  private tasks = 0;

  constructor(readonly threads: number) {}

  async run(task: MediaTask, signal: AbortSignal): Promise<Buffer> {
    if (this.closed) throw new Error('the media thread pool is closed: the process is shutting down');
    signal.throwIfAborted();
    this.pool ??= new Piscina({
      // The compiled thread file sits beside this module (under dist/ once built).
      filename: new URL('./media-thread.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: IDLE_MS,
    });
    this.tasks++;
    try {
      const out = await this.pool.run(task, { signal, transferList: transferable(task) }) as Uint8Array;
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    } finally {
      this.tasks--;
    }
  }

  /** The threads alive now (none before the first task and after close), the tasks not settled yet and those of them waiting for a thread. */
  get state(): { threads: readonly Worker[]; tasks: number; queued: number } {
    return { threads: this.pool?.threads ?? [], tasks: this.tasks, queued: this.pool?.queueSize ?? 0 };
  }

  /** Stops every thread; tasks still queued or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }
}

/** Runs tasks on the calling thread: for tools and tests that build providers without an app. */
export const inlineMedia: MediaRunner = {
  async run(task, signal) {
    signal.throwIfAborted();
    return runMediaTask(task);
  },
};
