import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { testStoreKind } from '../helpers/store.js';
import { fileChildren } from '../helpers/children.js';

/**
 * The short form of the fault suite (fault/run.mjs, docs/reliability.md): a few hundred mixed
 * runs through two API processes and two executors on a PostgreSQL cluster of its own, with one
 * fault of each kind. It runs in the PostgreSQL pass of `npm test`, whose binaries it needs.
 */
const skip = testStoreKind !== 'postgres' ? 'needs PostgreSQL (the postgres pass of npm test)' : false;

type Report = {
  zeros: Record<string, number>;
  faults: { kind: string; recoveredMs: number | null }[];
  runs: { accepted: number; refused: number; gaveUp: number; cancelled: number; byKind: Record<string, number> };
  jobs: { byStatus: Record<string, number> };
  webhooks: { owed: number; distinctJobs: number };
  books: { balance: number; grants: number; charges: number; refunds: number }[];
  provider: Record<string, number>;
};

/**
 * Runs the suite to its end. It is stopped with SIGTERM, on which it stops its own processes and
 * database first, when `signal` aborts (the test timed out) or the test file's children are stopped.
 */
function runSuite(jsonFile: string, signal: AbortSignal): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = fileChildren.add(spawn(process.execPath, [path.join(packageRoot, 'fault', 'run.mjs'), '--short', '--json', jsonFile], {
      cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'],
    }), 'SIGTERM');
    signal.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('the fault suite, short form', { skip, timeout: 900_000 }, () => {
  it('loses no job, charges and refunds each once, delivers every webhook and keeps every balance through kills, restarts and a bad provider', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-fault-test-'));
    try {
      const jsonFile = path.join(dir, 'report.json');
      const { code, output } = await runSuite(jsonFile, t.signal);
      assert.equal(code, 0, `the fault suite failed:\n${output}`);
      const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as Report;

      for (const [what, n] of Object.entries(report.zeros)) assert.equal(n, 0, `${what}: ${n}\n${output}`);
      assert.ok(Object.keys(report.zeros).length >= 8);
      for (const b of report.books) assert.equal(b.balance, b.grants - b.charges + b.refunds);

      // Every kind of fault happened, and the system came back from each.
      const kinds = report.faults.map((f) => f.kind);
      for (const kind of ['kill -9 executor', 'kill -9 API process', 'provider hangs', 'provider fails (500)', 'provider answers 429', 'webhook receiver down']) {
        assert.ok(kinds.includes(kind), `no "${kind}" fault in ${kinds.join(', ')}`);
      }
      assert.equal(kinds.filter((k) => k === 'database restart').length, 2);
      for (const f of report.faults) assert.notEqual(f.recoveredMs, null, `${f.kind} never recovered`);
      assert.ok(report.provider.hang! > 0 && report.provider.fail! > 0 && report.provider['429']! > 0, 'each provider fault met calls');

      // The mix the suite promises was there: all three kinds of run, every outcome, webhooks owed.
      assert.ok(report.runs.accepted >= 300);
      assert.equal(report.runs.refused + report.runs.gaveUp, 0);
      for (const kind of ['model', 'deadline', 'provider', 'app']) assert.ok(report.runs.byKind[kind]! > 0, `no ${kind} runs`);
      for (const status of ['completed', 'failed', 'cancelled']) assert.ok(report.jobs.byStatus[status]! > 0, `no ${status} jobs`);
      assert.ok(report.webhooks.owed > 0);
      assert.equal(report.webhooks.distinctJobs, report.webhooks.owed);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
