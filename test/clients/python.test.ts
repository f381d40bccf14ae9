import { test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { processStoreEnv, testStoreKind } from '../helpers/store.js';
import { parseUnittest } from '../helpers/unittest-report.js';

/**
 * The Python client's own suite (clients/python/tests, standard-library unittest) run with
 * `python3 -m unittest discover -v`: it starts the built server itself. Each Python test becomes
 * a subtest here, so the runner's counts include them and a failure shows its traceback.
 * The client does not depend on the store, so it runs in the SQLite pass only.
 */

function python(): string {
  const r = spawnSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2]); sys.exit(0 if sys.version_info >= (3, 9) else 1)'], { encoding: 'utf8' });
  if (r.error) throw new Error('python3 is not on PATH: the Python client\'s tests need Python 3.9 or newer (Debian: apt-get install python3).');
  if (r.status !== 0) throw new Error(`python3 is ${r.stdout.trim()}: the Python client needs 3.9 or newer.`);
  return r.stdout.trim();
}

test('Python client: clients/python unittest suite against a live server', { timeout: 15 * 60_000, skip: testStoreKind !== 'sqlite' && 'runs in the SQLite pass only: the client does not depend on the store' }, async (t) => {
  const version = python();
  const child = spawn('python3', ['-m', 'unittest', 'discover', '-s', path.join('clients', 'python', 'tests'), '-v'], {
    cwd: packageRoot,
    env: { ...process.env, ...processStoreEnv(), GENJOBS_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: t.signal, // a cancelled or timed-out test stops the suite (SIGTERM: it then stops its server)
  });
  child.once('error', () => undefined); // the abort above surfaces as the exit code
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));

  const { results, ran } = parseUnittest(output);
  for (const r of results) {
    await t.test(r.id, { skip: r.outcome === 'skipped' ? r.detail || true : false }, () => {
      if (r.outcome === 'FAIL' || r.outcome === 'ERROR' || r.outcome === 'unexpected success') {
        throw new Error(`${r.outcome} under Python ${version}:\n${r.detail}`);
      }
    });
  }
  if (code !== 0 || ran === null || ran === 0 || ran !== results.length) {
    throw new Error(`python3 -m unittest exited ${code}, ran ${ran ?? 'no'} tests, ${results.length} read from its report:\n${output.slice(-6000)}`);
  }
});
