import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';

export const CLI = path.join(packageRoot, 'dist', 'src', 'cli', 'main.js');

/** A port that was free a moment ago on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a `genjobs` CLI command to its end; returns stdout, failing on a non-zero exit. */
export function cli(args: string[], env: Record<string, string>): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
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

/** Starts `genjobs executor` and waits until it says it runs. */
export async function startExecutor(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, 'executor'], {
    env: { ...process.env, LOG_LEVEL: 'debug', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
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

/** Starts `genjobs serve` and waits until it answers on its port. */
export async function startServer(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const port = Number(env.PORT);
  const child = spawn(process.execPath, [CLI, 'serve', ...args], {
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // A bound for a machine under load, not a measure: starting takes a second when it is idle.
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}): ${out}`);
    try {
      const res = await fetch(`${url}/healthz`);
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
