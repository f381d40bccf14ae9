import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, cli, freePort, startServer } from '../helpers/process.js';
import { processStoreEnv } from '../helpers/store.js';
import { packageRoot } from '../../src/paths.js';
import { EXIT } from '../../src/cli/exit.js';
import { assertOneLine, runCli } from './run-cli.js';

const version = (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('genjobs as a new user first meets it', { timeout: 120_000 }, () => {
  let dataDir: string;
  let env: Record<string, string>;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-op-'));
    env = { ...processStoreEnv(), DATA_DIR: dataDir };
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('the build leaves the binary executable: it runs without `node` in front', async () => {
    // npm test builds first (scripts/build.mjs), so this checks the build that just ran.
    assert.ok((fs.statSync(CLI).mode & 0o111) !== 0, `${CLI} has no execute bit`);
    const r = await runCli(['--version'], {}, [CLI]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });

  it('lists accounts with users list, as a table and as JSON', async () => {
    const a = cli(['users', 'create', '--name', 'first', '--quiet'], env);
    const b = cli(['users', 'create', '--name', 'second', '--credits', '5', '--quiet'], env);
    const table = await runCli(['users', 'list'], env);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^USER\\s+NAME\\s+CREDITS\\s+API ACCESS\\s+CREATED\\n${a}\\s+first\\s+0\\s+yes\\s+\\S+\\n${b}\\s+second\\s+5\\s+yes`));
    const json = JSON.parse((await runCli(['users', 'list', '--json', '--after', a], env)).stdout) as { id: string }[];
    assert.deepEqual(json.map((u) => u.id), [b]);
  });

  it('sets an account\'s fair-scheduler settings with users update, keeping the ones not given', async () => {
    const id = cli(['users', 'create', '--quiet'], env);
    const r = await runCli(['users', 'update', id, '--weight', '4', '--max-running', '3', '--max-priority', 'normal'], env);
    assert.equal(r.status, 0, r.stderr);
    const set = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual([set.weight, set.max_running, set.max_running_per_model, set.max_priority], [4, 3, null, 'normal']);
    const again = JSON.parse((await runCli(['users', 'update', id, '--max-running', 'default', '--max-running-per-model', '2'], env)).stdout) as Record<string, unknown>;
    assert.deepEqual([again.weight, again.max_running, again.max_running_per_model, again.max_priority], [4, null, 2, 'normal']);
    const bad = await runCli(['users', 'update', id, '--weight', '0'], env);
    assert.equal(bad.status, EXIT.usage);
    assertOneLine(bad, /weight: must be a whole number from 1 to 1000/);
  });

  it('answers a bad number with one line and exit 2, never a stack trace', async () => {
    const r = await runCli(['users', 'create', '--credits', 'abc'], env);
    assert.equal(r.status, EXIT.usage);
    assertOneLine(r, /--credits .*"abc" is not a whole number/);
  });

  it('answers an unknown account with one line', async () => {
    const r = await runCli(['users', 'show', '00000000-0000-7000-8000-000000000000'], env);
    assert.equal(r.status, EXIT.error);
    assertOneLine(r, /User not found/);
  });

  it('says in keys revoke --help when a running server stops honouring the key', async () => {
    const r = await runCli(['keys', 'revoke', '--help'], env);
    assert.equal(r.status, 0);
    assert.match(r.stdout.replace(/\s+/g, ' '), /GENJOBS_AUTH_CACHE_MS \(5 s\)/);
    assert.doesNotMatch(r.stdout, /deactivate a key at once/);
  });

  it('answers a busy port with one line', async () => {
    const port = await freePort();
    const serveEnv = { ...env, PORT: String(port), LOG_LEVEL: 'silent' };
    const first = await startServer(serveEnv);
    try {
      const second = await runCli(['serve'], { ...serveEnv, HOST: '127.0.0.1' });
      assert.equal(second.status, EXIT.error);
      assertOneLine(second, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
  });
});
