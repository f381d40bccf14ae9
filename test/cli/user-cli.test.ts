import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { CLI, cli, freePort, startServer, type ServerProcess } from '../helpers/process.js';
import { processStoreEnv } from '../helpers/store.js';
import { EXIT } from '../../src/cli/exit.js';
import { assertOneLine, runCli } from './run-cli.js';

/** The user's commands of the built binary against a real `genjobs serve`: output and exit codes. */
describe('genjobs user commands', { timeout: 300_000 }, () => {
  let dataDir: string;
  let server: ServerProcess;
  let env: Record<string, string>;
  let userEnv: Record<string, string>;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-cli-'));
    const port = await freePort();
    env = { ...processStoreEnv(), DATA_DIR: dataDir, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, GENJOBS_POLL_MS: '100' };
    server = await startServer(env);
    const userId = cli(['users', 'create', '--name', 'cli', '--credits', '10000', '--quiet'], env);
    const key = cli(['keys', 'create', userId, '--rate-limit', '10000', '--quiet'], env);
    userEnv = { GENJOBS_BASE_URL: server.url, GENJOBS_API_KEY: key, DATABASE_URL: '', DATA_DIR: '/nonexistent' };
  });
  after(() => {
    server.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists models and apps as tables, and as JSON with --json', async () => {
    const table = await runCli(['models', 'ls'], userEnv);
    assert.equal(table.status, EXIT.ok, table.stderr);
    assert.match(table.stdout, /^MODEL\s+MODALITY\s+COST/);
    assert.match(table.stdout, /\nlocal\/image\s+image\s+10\s/);
    const models = JSON.parse((await runCli(['models', 'ls', '--json'], userEnv)).stdout) as { id: string }[];
    assert.ok(models.some((m) => m.id === 'local/video'));
    const apps = await runCli(['apps', 'ls'], userEnv);
    assert.match(apps.stdout, /Storyboard\s+27\s+4\s+prompt\*/);
  });

  it('runs a model and prints its output; --json prints the job', async () => {
    const r = await runCli(['run', 'local/image', '-i', 'prompt=a red fox', '-i', 'aspect_ratio=16:9', '-i', 'seed=7'], userEnv);
    assert.equal(r.status, EXIT.ok, r.stderr);
    assert.match(r.stdout, /^completed in [\d.]+s {2}\S+ {2}local\/image\noutputImage: http:\/\/127\.0\.0\.1:\d+\/files\/.+\.png\n$/);
    const j = await runCli(['run', 'local/text', '-i', 'prompt=hello', '--json'], userEnv);
    const job = JSON.parse(j.stdout) as { status: string; input_data: { input: Record<string, unknown> } };
    assert.equal(job.status, 'completed');
    assert.deepEqual(job.input_data.input, { prompt: 'hello' });
  });

  it('waits with --wait, printing plain progress lines when stderr is not a terminal, and downloads the files', async () => {
    const dir = path.join(dataDir, 'downloads');
    const r = await runCli(['run', 'local/video', '-i', 'prompt=waves', '--wait', '--download', dir], userEnv);
    assert.equal(r.status, EXIT.ok, r.stderr);
    assert.match(r.stderr, /^\S+ (pending|processing)/m);
    assert.match(r.stderr, /^\S+ completed \([\d.]+s\)$/m);
    assert.doesNotMatch(r.stderr, /\u001b\[/, 'no terminal escapes in a pipe');
    const saved = /^saved (.+)$/m.exec(r.stdout)?.[1];
    assert.ok(saved && fs.existsSync(saved), r.stdout);
  });

  it('runs an app by name, following its nodes, and downloads valid images', async () => {
    const dir = path.join(dataDir, 'app-downloads');
    const r = await runCli(['apps', 'run', 'render and upscale', '-i', 'prompt=a fox', '--wait', '--download', dir], userEnv);
    assert.equal(r.status, EXIT.ok, r.stderr);
    assert.match(r.stderr, /nodes \d\/2/);
    const files = fs.readdirSync(dir);
    assert.ok(files.length >= 1);
    for (const f of files) assert.ok(PNG.sync.read(fs.readFileSync(path.join(dir, f))).width > 0);
  });

  it('exits 4 for a failed job, 5 for a cancelled one and 6 when --timeout passes first', async () => {
    const failed = await runCli(['run', 'local/test', '-i', 'duration_ms=100', '-i', 'outcome=failed', '-i', 'error_message=boom', '--wait'], userEnv);
    assert.equal(failed.status, EXIT.failed, failed.stderr);
    assert.match(failed.stdout, /^failed in [\d.]+s .*\nerror: boom\n/);

    const started = JSON.parse((await runCli(['run', 'local/test', '-i', 'duration_ms=60000', '--json'], userEnv)).stdout) as { id: string };
    const timedOut = await runCli(['jobs', 'watch', started.id, '--timeout', '1s'], userEnv);
    assert.equal(timedOut.status, EXIT.timedOut, timedOut.stderr);
    assert.match(timedOut.stderr, new RegExp(`genjobs: Job ${started.id} is still (pending|processing) after 1000 ms`));
    const cancel = await runCli(['jobs', 'cancel', started.id], userEnv);
    assert.equal(cancel.status, EXIT.ok, cancel.stderr);
    assert.match(cancel.stdout, /^cancelled {2}\S+ {2}\(1 credits refunded\)/);
    const watched = await runCli(['jobs', 'watch', started.id], userEnv);
    assert.equal(watched.status, EXIT.cancelled, watched.stderr);
    const again = await runCli(['jobs', 'cancel', started.id], userEnv);
    assert.equal(again.status, EXIT.error);
    assertOneLine(again, /already cancelled \(job_not_cancellable\)/);
  });

  it('lists jobs as a table, by status, and as JSON; gets one job', async () => {
    const table = await runCli(['jobs', 'ls', '--limit', '3'], userEnv);
    assert.equal(table.status, EXIT.ok, table.stderr);
    assert.match(table.stdout, /^JOB\s+STATUS\s+MODEL \/ APP/);
    assert.equal(table.stdout.trim().split('\n').length, 4);
    const failed = JSON.parse((await runCli(['jobs', 'ls', '--status', 'failed', '--all', '--json'], userEnv)).stdout) as { id: string; status: string }[];
    assert.ok(failed.length >= 1 && failed.every((j) => j.status === 'failed'));
    const one = await runCli(['jobs', 'get', failed[0]!.id], userEnv);
    assert.match(one.stdout, /^failed /);
  });

  it('shows the account', async () => {
    const r = await runCli(['account'], userEnv);
    assert.equal(r.status, EXIT.ok, r.stderr);
    assert.match(r.stdout, /^ACCOUNT\s+CREDITS/);
    const a = JSON.parse((await runCli(['account', '--json', '--ledger'], userEnv)).stdout) as { object: string; ledger: unknown[] };
    assert.equal(a.object, 'account');
    assert.ok(a.ledger.length > 1);
  });

  it('tells usage errors (2), a missing or wrong key (3) and an unreachable server (7) apart, each in one line', async () => {
    const badInput = await runCli(['run', 'local/image', '-i', 'seed=many'], userEnv);
    assert.equal(badInput.status, EXIT.usage);
    assertOneLine(badInput, /seed takes a number/);
    const refused = await runCli(['run', 'nobody/nothing'], userEnv);
    assert.equal(refused.status, EXIT.usage);
    assertOneLine(refused, /unknown model/);
    const unknownFlag = await runCli(['jobs', 'ls', '--colour'], userEnv);
    assert.equal(unknownFlag.status, EXIT.usage);
    assertOneLine(unknownFlag, /unknown option '--colour'/);
    const noKey = await runCli(['account'], { ...userEnv, GENJOBS_API_KEY: '' });
    assert.equal(noKey.status, EXIT.auth);
    assertOneLine(noKey, /no API key: set GENJOBS_API_KEY/);
    const wrongKey = await runCli(['account', '--api-key', 'sk_live_wrong'], userEnv);
    assert.equal(wrongKey.status, EXIT.auth);
    assertOneLine(wrongKey, /Invalid API key/);
    const unreachable = await runCli(['models', 'ls', '--base-url', `http://127.0.0.1:${await freePort()}`], userEnv);
    assert.equal(unreachable.status, EXIT.unreachable);
    assertOneLine(unreachable, /Could not reach .*ECONNREFUSED/);
  });

  it('draws a live line on a terminal (under a pseudo-terminal from util-linux script)', { skip: !fs.existsSync('/usr/bin/script') && 'no /usr/bin/script' }, async () => {
    // Processing long enough for the command's stream to see it so on a loaded machine, where
    // starting the stream can take longer than a second and a half.
    const command = [process.execPath, CLI, 'run', 'local/test', '-i', 'duration_ms=5000', '--wait'].map((a) => `'${a}'`).join(' ');
    const r = await runCli(['-qefc', command, '/dev/null'], userEnv, ['/usr/bin/script']);
    assert.equal(r.status, EXIT.ok, r.stdout + r.stderr);
    assert.match(r.stdout, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \S{8} processing · \d+\.\ds/, 'a spinner, the job, its status and the time waited');
    assert.match(r.stdout, /\u001b\[\d*[AGK2]/, 'redrawn in place with terminal escapes');
    assert.match(r.stdout, /completed in [\d.]+s/);
  });
});
