import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

export interface ReferenceWorkerOptions {
  /** The genjobs server, such as http://genjobs:8080. */
  url: string;
  /** The worker token the admin API issued. */
  token: string;
  /** Models to claim jobs of. (Default: every model the token serves) */
  models: string[];
  /** Shell command run for each job: input JSON on stdin, output files into $GENJOBS_OUTPUT_DIR. */
  exec: string;
  /** Jobs run at once. (Default: 1) */
  concurrency: number;
  /** On stop, how long running commands may finish before they are killed and their jobs given back. (Default: 30000 ms) */
  shutdownGraceMs: number;
  logger: Logger;
}

interface ClaimedJob {
  id: string;
  model: string;
  input: unknown;
  output_field: string;
  lease_token: number;
  heartbeat_interval_ms: number;
}

interface Running {
  child: ChildProcess;
  job: ClaimedJob;
  /** Set when the command is being stopped; the job is then not reported on. */
  stopping: 'cancelled' | 'shutdown' | null;
  done: Promise<void>;
}

/**
 * `genjobs worker`: a worker that runs a command for each job. The command gets the job's input
 * as JSON on stdin and writes its output files into the folder named by $GENJOBS_OUTPUT_DIR; the
 * files are uploaded and the first becomes the job's output (with no file, stdout is the
 * output text). stderr lines go to the job's log, and a line `progress: 0.4` reports progress.
 * Heartbeats keep the lease; when one says the job was cancelled, the command is terminated.
 */
export class ReferenceWorker {
  private stopping = false;
  private readonly running = new Set<Running>();
  private readonly claims = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly o: ReferenceWorkerOptions) {}

  private async call(method: string, p: string, body?: unknown, extra: RequestInit = {}): Promise<{ status: number; json: any }> {
    const res = await fetch(`${this.o.url.replace(/\/+$/, '')}/worker/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${this.o.token}`, ...(body !== undefined && !(body instanceof Buffer) ? { 'content-type': 'application/json' } : {}) },
      ...(body instanceof Buffer ? { body } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...extra,
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  start(): void {
    this.loops = Array.from({ length: this.o.concurrency }, () => this.loop());
  }

  private async loop(): Promise<void> {
    let backoff = 500;
    while (!this.stopping) {
      try {
        const body = { wait_ms: 20_000, ...(this.o.models.length > 0 ? { models: this.o.models } : {}) };
        const res = await this.call('POST', '/jobs/claim', body, { signal: this.claims.signal });
        if (res.status === 204) continue;
        if (res.status !== 200) throw new Error(`claim answered ${res.status}: ${res.json?.error ?? ''}`);
        backoff = 500;
        await this.run(res.json.job as ClaimedJob);
      } catch (err) {
        if (this.stopping) return;
        this.o.logger.warn({ err: (err as Error).message }, 'worker: claim failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private async run(job: ClaimedJob): Promise<void> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'genjobs-job-'));
    const child = spawn('sh', ['-c', this.o.exec], {
      env: { ...process.env, GENJOBS_JOB_ID: job.id, GENJOBS_MODEL: job.model, GENJOBS_OUTPUT_DIR: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so terminating it reaches whatever the command started.
      detached: true,
    });
    const entry: Running = { child, job, stopping: null, done: Promise.resolve() };
    this.running.add(entry);
    // A stop that came while this job was being set up has already waited out its grace.
    if (this.stopping) this.terminate(entry, 'shutdown');
    this.o.logger.info({ jobId: job.id, model: job.model }, 'worker: job started');
    let stdout = '';
    const logs: string[] = [];
    let progress: number | null = null;
    let stderrTail = '';
    child.stdout?.on('data', (d: Buffer) => { if (stdout.length < 1_000_000) stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-2_000);
      for (const line of d.toString().split('\n').filter((l) => l.trim() !== '')) {
        const p = /^progress[:=]\s*([0-9.]+)\s*$/i.exec(line.trim());
        if (p) progress = Math.min(1, Math.max(0, Number(p[1])));
        else logs.push(line.slice(0, 10_000));
      }
    });
    child.stdin?.on('error', () => { /* the command may not read its input */ });
    child.stdin?.end(JSON.stringify(job.input));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const beat = async () => {
      const res = await this.call('POST', `/jobs/${job.id}/heartbeat`, { lease_token: job.lease_token, progress, logs: logs.splice(0, 100) });
      if (res.status === 200 && res.json.continue === false && !entry.stopping) {
        this.o.logger.info({ jobId: job.id, reason: res.json.reason }, 'worker: job stopped by the server');
        this.terminate(entry, 'cancelled');
      }
    };
    const timer = setInterval(() => { beat().catch((err: unknown) => this.o.logger.warn({ err: (err as Error).message }, 'worker: heartbeat failed')); }, job.heartbeat_interval_ms);
    entry.done = (async () => {
      const code = await exited;
      clearInterval(timer);
      try {
        if (entry.stopping === 'cancelled') return;
        if (entry.stopping === 'shutdown') {
          await this.call('POST', `/jobs/${job.id}/release`, { lease_token: job.lease_token });
          return;
        }
        if (logs.length > 0 || progress !== null) await beat();
        if (code !== 0) {
          const tail = stderrTail.trim().split('\n').slice(-5).join('\n');
          await this.report('fail', job, { error: `the command exited with ${code}${tail ? `: ${tail}` : ''}` });
          return;
        }
        const names = (await fs.readdir(dir)).filter((n) => !n.startsWith('.')).sort();
        const urls: string[] = [];
        for (const name of names) {
          const data = await fs.readFile(path.join(dir, name));
          const up = await this.call('POST', `/jobs/${job.id}/files?lease_token=${job.lease_token}&name=${encodeURIComponent(name)}`, data, { headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/octet-stream' } });
          if (up.status !== 201) throw new Error(`upload of ${name} answered ${up.status}: ${up.json?.error ?? ''}`);
          urls.push(up.json.url as string);
        }
        const output = urls.length > 0
          ? { [job.output_field]: urls[0], ...(urls.length > 1 ? { outputs: urls } : {}) }
          : { [job.output_field]: stdout.trim() };
        await this.report('complete', job, { output });
      } catch (err) {
        this.o.logger.error({ jobId: job.id, err: (err as Error).message }, 'worker: reporting the job failed');
      } finally {
        this.running.delete(entry);
        await fs.rm(dir, { recursive: true, force: true });
      }
    })();
    await entry.done;
  }

  private async report(kind: 'complete' | 'fail', job: ClaimedJob, body: Record<string, unknown>): Promise<void> {
    const res = await this.call('POST', `/jobs/${job.id}/${kind}`, { lease_token: job.lease_token, ...body });
    if (res.status !== 200) this.o.logger.warn({ jobId: job.id, status: res.status, error: res.json?.error }, `worker: ${kind} was refused`);
    else this.o.logger.info({ jobId: job.id, status: res.json.status }, 'worker: job finished');
  }

  /** SIGTERM to the command's process group, SIGKILL five seconds later if it is still there. */
  private terminate(entry: Running, why: 'cancelled' | 'shutdown'): void {
    entry.stopping = why;
    const pid = entry.child.pid;
    if (pid === undefined) return;
    const kill = (signal: NodeJS.Signals) => { try { process.kill(-pid, signal); } catch { /* already gone */ } };
    kill('SIGTERM');
    setTimeout(() => { if (entry.child.exitCode === null) kill('SIGKILL'); }, 5_000).unref();
  }

  /** Stops claiming; running commands get the grace period, then are killed and their jobs given back. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.claims.abort();
    const all = () => Promise.all([...this.running].map((r) => r.done));
    await Promise.race([all(), sleep(this.o.shutdownGraceMs)]);
    for (const r of this.running) this.terminate(r, 'shutdown');
    await all();
    await Promise.allSettled(this.loops);
  }
}
