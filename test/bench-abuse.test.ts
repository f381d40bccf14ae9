import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';

/*
 * The short form of `npm run bench:abuse`: the same three cases with small counts, run as a test
 * so the script keeps working. It checks what the cases check (every probe answered 200, every
 * idle socket closed by the server, every stream told of the jobs, the stream past the cap refused
 * with a 429), never their timings. Its server runs on SQLite whatever store the suite tests.
 */
const SCRIPT = path.resolve(import.meta.dirname, '..', '..', 'bench', 'abuse.mjs');

describe('bench/abuse.mjs, short form', { skip: process.env.GENJOBS_TEST_STORE === 'postgres' ? 'runs once, in the SQLite pass' : false }, () => {
  it('runs its three cases to the end', async () => {
    const child = spawn(process.execPath, [SCRIPT], {
      env: { ...process.env, BENCH_ABUSE_SMOKE: '1', BENCH_TIMEOUT_MS: '240000' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, out);
    assert.match(out, /## 1\. 2 upscales/);
    assert.match(out, /healthz, upscales/);
    assert.match(out, /each socket was closed by the server after: .*\(n 100\)/);
    assert.match(out, /stream 31 was refused: 429, Retry-After 10/);
  });
});
