// The genjobs processes the fault suite runs: API processes (`serve --no-executor`) and
// executors (`executor`), each in a slot that keeps its port and its log folder across kills
// and restarts. Every process writes its output to a file of its own under the run's folder.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** A bound for a loaded machine on a process's start, not a measure. */
const START_LIMIT_MS = 90_000;

/** Runs a `genjobs` CLI command to its end and returns its output (for setup: accounts and keys). */
export function cli(args, env) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`genjobs ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * One place in the cluster: `api` (listens on `port`) or `executor`. `start()` launches a new
 * process in it and resolves once it is ready (the API answers /readyz with 200; the executor
 * says it runs); `kill()` ends it with SIGKILL and resolves once it has exited.
 */
export class Slot {
  constructor({ role, index, env, port, logDir }) {
    Object.assign(this, { role, index, env, port, logDir });
    this.generation = 0;
    this.child = null;
    this.killing = false;
    /** Processes of this slot that ended without the suite killing them (a crash), with their log. */
    this.crashes = [];
    this.logs = [];
    /** The executor's owner name (its lease_owner in the store), read from its start line. */
    this.owner = null;
  }

  get name() {
    return `${this.role}-${this.index + 1}`;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    this.generation++;
    const log = path.join(this.logDir, `${this.name}.${this.generation}.log`);
    const out = fs.openSync(log, 'a');
    const args = this.role === 'api' ? [CLI, 'serve', '--no-executor'] : [CLI, 'executor'];
    const env = { ...process.env, ...this.env, ...(this.role === 'api' ? { PORT: String(this.port), HOST: '127.0.0.1', PUBLIC_URL: this.url } : {}) };
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.child = child;
    this.logs.push(log);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      if (!this.killing) {
        // A crash: counted, and the process started again, as a supervisor would.
        this.crashes.push({ log, code: code ?? signal });
        if (!this.closed) setTimeout(() => { if (!this.closed) this.start().catch(() => {}); }, 500);
      }
      resolve(code ?? signal);
    }));
    const until = Date.now() + START_LIMIT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${this.name} exited while starting; see ${log}`);
      if (this.role === 'api' ? await this.ready() : this.#readExecutorStart(log)) return;
      if (Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`${this.name} did not start within ${START_LIMIT_MS / 1000} s; see ${log}`);
      }
      await sleep(100);
    }
  }

  /** Whether the API process answers /readyz with 200. */
  async ready() {
    try {
      const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  #readExecutorStart(log) {
    const line = fs.readFileSync(log, 'utf8').split('\n').find((l) => l.includes('genjobs executor is running'));
    if (!line) return false;
    this.owner = JSON.parse(line).executor ?? null;
    return true;
  }

  async kill(signal = 'SIGKILL') {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.killing = true;
    this.child.kill(signal);
    await this.exited;
    this.killing = false;
  }

  /** Ends the slot's process for good. */
  async close() {
    this.closed = true;
    await this.kill();
  }

  /** Error and fatal lines (pino levels 50 and 60) in every log of this slot, by message. */
  errorLines() {
    const counts = {};
    for (const log of this.logs) {
      for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
        if (!/"level":(50|60)/.test(line)) continue;
        let msg = 'unreadable';
        try { msg = JSON.parse(line).msg; } catch { /* counted as unreadable */ }
        counts[msg] = (counts[msg] ?? 0) + 1;
      }
    }
    return counts;
  }
}

/** Waits until `check()` gives a truthy value; returns the milliseconds it took, or null past `limitMs`. */
export async function waitFor(check, limitMs, everyMs = 100) {
  const started = Date.now();
  for (;;) {
    try {
      if (await check()) return Date.now() - started;
    } catch { /* the thing checked is down: keep asking */ }
    if (Date.now() - started > limitMs) return null;
    await sleep(everyMs);
  }
}
