#!/usr/bin/env node
// Runs the compiled test suite with node's own test runner. Tests that touch no store (named
// `*.unit.test.ts`: providers, catalog, config, media, the layer check) run once, first; the rest
// run twice: on the embedded SQLite store, then on PostgreSQL in a throwaway cluster started here
// and removed afterwards. Each pass prints the runner's TAP with its closing `# pass N` /
// `# fail N`; a last line adds them up. GENJOBS_TEST_STORES=sqlite (or postgres) runs the store
// passes on that store only; GENJOBS_TEST_STORES=none runs the store-free tests only. Arguments
// narrow the run to the compiled test files whose path contains one of them:
// `node scripts/run-tests.mjs api/jobs webhooks`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dist = path.resolve(import.meta.dirname, '..', 'dist', 'test');
const files = fs.readdirSync(dist, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => process.argv.length <= 2 || process.argv.slice(2).some((arg) => f.includes(arg)))
  .map((f) => path.join(dist, f))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files under dist/test match; did the build run?');
  process.exit(1);
}

const storeFree = files.filter((f) => f.endsWith('.unit.test.js'));
const withStore = files.filter((f) => !f.endsWith('.unit.test.js'));

/** Runs the test `files` once with `env`; echoes the TAP and returns its counts. */
function pass(name, files, env) {
  console.log(`# ---- ${name} ----`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=2', ...files], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const counts = { pass: 0, fail: 0, code: 0 };
    let rest = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^# (pass|fail) (\d+)$/.exec(line);
        if (m) counts[m[1]] = Number(m[2]);
      }
    });
    child.on('exit', (code) => resolve({ ...counts, code: code ?? 1 }));
  });
}

const stores = (process.env.GENJOBS_TEST_STORES ?? 'sqlite,postgres').split(',');
const results = [];
if (storeFree.length > 0) results.push(await pass('no store', storeFree, { GENJOBS_TEST_STORE: 'none' }));
if (withStore.length > 0 && stores.includes('sqlite')) results.push(await pass('store: sqlite', withStore, { GENJOBS_TEST_STORE: 'sqlite' }));
if (withStore.length > 0 && stores.includes('postgres')) {
  const { startPgCluster } = await import(path.join(dist, 'helpers', 'pg-cluster.js'));
  const cluster = await startPgCluster();
  try {
    results.push(await pass('store: postgres', withStore, { GENJOBS_TEST_STORE: 'postgres', GENJOBS_TEST_PG_URL: cluster.url }));
  } finally {
    cluster.destroy();
  }
}
const passed = results.reduce((n, r) => n + r.pass, 0);
const failed = results.reduce((n, r) => n + r.fail, 0);
console.log(`total: ${passed} passed, ${failed} failed`);
process.exit(results.every((r) => r.code === 0) && failed === 0 && passed > 0 ? 0 : 1);
