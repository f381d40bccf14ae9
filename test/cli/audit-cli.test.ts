import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli } from '../helpers/process.js';
import { processStoreEnv } from '../helpers/store.js';
import { EXIT } from '../../src/cli/exit.js';
import { assertOneLine, runCli } from './run-cli.js';

describe('genjobs audit list', { timeout: 120_000 }, () => {
  let dataDir: string;
  let env: Record<string, string>;
  let userId: string;
  const actor = `cli:${os.userInfo().username}`;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-audit-cli-'));
    env = { ...processStoreEnv(), DATA_DIR: dataDir };
    userId = cli(['users', 'create', '--name', 'audited', '--credits', '10', '--quiet'], env);
    cli(['credits', 'grant', userId, '5', '--reason', 'welcome'], env);
    cli(['credits', 'grant', userId, '-3'], env);
    const key = JSON.parse(cli(['keys', 'create', userId, '--name', 'laptop'], env)) as { id: string; key: string };
    cli(['keys', 'revoke', userId, key.id], env);
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('shows the operator\'s own changes, newest first, as a table naming the OS user', async () => {
    const r = await runCli(['audit', 'list'], env);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^TIME\s+ACTOR\s+ACTION\s+TARGET\s+REQUEST\s+DETAILS$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[2]), ['api_key.revoke', 'api_key.create', 'user.credits.deduct', 'user.credits.grant', 'user.create']);
    for (const line of lines.slice(1)) assert.equal(line.split(/\s+/)[1], actor);
    assert.match(lines[4]!, new RegExp(`user\\.credits\\.grant\\s+user ${userId}\\s+-\\s+\\{"amount":5,"reason":"welcome"\\}`));
  });

  it('filters by action and target, pages with --limit and --after, and prints JSON with --json', async () => {
    const grants = await runCli(['audit', 'list', '--json', '--target', userId, '--action', 'user.credits.grant'], env);
    assert.equal(grants.status, 0, grants.stderr);
    const [entry, ...rest] = JSON.parse(grants.stdout) as Record<string, unknown>[];
    assert.deepEqual(rest, []);
    assert.deepEqual(
      { ...entry, id: undefined, at: undefined },
      { id: undefined, at: undefined, object: 'audit_entry', actor, action: 'user.credits.grant', target_type: 'user', target_id: userId, user_id: userId, details: { amount: 5, reason: 'welcome' }, request_id: null, client_address: null },
    );
    const first = await runCli(['audit', 'list', '--limit', '2'], env);
    assert.match(first.stdout, /\nmore: --after \S+\n$/);
    const cursor = /--after (\S+)/.exec(first.stdout)![1]!;
    const next = JSON.parse((await runCli(['audit', 'list', '--json', '--limit', '2', '--after', cursor], env)).stdout) as { action: string }[];
    assert.deepEqual(next.map((e) => e.action), ['user.credits.deduct', 'user.credits.grant']);
    const keys = JSON.parse((await runCli(['audit', 'list', '--json', '--user', userId, '--action', 'api_key.create'], env)).stdout) as { target_type: string; user_id: string }[];
    assert.deepEqual(keys.map((e) => [e.target_type, e.user_id]), [['api_key', userId]]);
    const none = await runCli(['audit', 'list', '--action', 'worker.revoke'], env);
    assert.equal(none.stdout.trim(), 'no audit entries');
  });

  it('answers a bad --limit with one line and exit 2', async () => {
    const r = await runCli(['audit', 'list', '--limit', '0'], env);
    assert.equal(r.status, EXIT.usage);
    assertOneLine(r, /limit: must be a whole number from 1 to 100/);
  });
});
