import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { fileChildren, type Children } from './children.js';

export { freePort } from './ports.js';

export const CLI = path.join(packageRoot, 'dist', 'src', 'cli', 'main.js');

/**
 * Runs a `genjobs` CLI command to its end; returns stdout, failing on a non-zero exit. It blocks
 * this process, timers and test timeouts included, so a command that hangs is killed after a
 * bound (generous: a command takes a second or two on a loaded machine).
 */
export function cli(args: string[], env: Record<string, string>): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  if (r.error) throw new Error(`genjobs ${args.join(' ')}: ${r.error.message}: ${r.stderr}`);
  if (r.status !== 0) throw new Error(`genjobs ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/**
 * Starts `genjobs executor` and waits until it says it runs. The child is in `group` (and in the
 * file's group) from its start: it is stopped when the group closes, even if it never got ready.
 */
export async function startExecutor(env: Record<string, string>, group: Children = fileChildren): Promise<ServerProcess> {
  const child = group.add(spawn(process.execPath, [CLI, 'executor'], {
    env: { ...process.env, LOG_LEVEL: 'debug', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    // A bound for a loaded machine; a process that has not started by then is not left running.
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`executor did not start: ${out}`)); }, 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('genjobs executor is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
    void exited.then((code) => reject(new Error(`executor exited early (${code}): ${out}`)));
  });
  return { child, url: '', output: () => out, exited };
}

/** Starts `genjobs serve` and waits until it answers on its port; in `group` from its start, as `startExecutor`. */
export async function startServer(env: Record<string, string>, args: string[] = [], group: Children = fileChildren): Promise<ServerProcess> {
  const port = Number(env.PORT);
  const child = group.add(spawn(process.execPath, [CLI, 'serve', ...args], {
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // A bound for a machine under load, not a measure: starting takes a second when it is idle.
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited early (${child.exitCode ?? child.signalCode}): ${out}`);
    try {
      // Each try is bounded too: a server that accepts and never answers would hold this loop.
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > until) {
      // Not left running: a server nobody holds would keep the test file from ending.
      child.kill('SIGKILL');
      throw new Error(`server did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url, output: () => out, exited };
}
