import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { packageRoot } from '../../src/paths.js';
import { freePort, startServer, type ServerProcess } from '../helpers/process.js';
import { processStoreEnv } from '../helpers/store.js';

/** The fenced blocks of one language in the README's `## Quick start` section, in order. */
function quickStartBlocks(lang: string): string[] {
  const readme = fs.readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
  const section = /^## Quick start\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'README.md has a "## Quick start" section');
  return [...section.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1]!);
}

/**
 * The documentation check: the README's quick start, run as written against a real server
 * (`localhost:8080` pointed at the test's port): the shell blocks after the install one, then
 * the SDK sample.
 */
describe('the README quick start', { timeout: 180_000 }, () => {
  let dataDir: string;
  let server: ServerProcess;
  let env: Record<string, string>;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-readme-'));
    const port = await freePort();
    env = { ...processStoreEnv(), DATA_DIR: dataDir, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` };
    server = await startServer(env);
  });
  after(() => {
    server.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs every shell command after the install block, and each succeeds', () => {
    const blocks = quickStartBlocks('sh');
    assert.match(blocks[0] ?? '', /npm install && npm start/, 'the first block installs and starts');
    const commands = blocks.slice(1).join('\n')
      .replaceAll('localhost:8080', server.url.replace('http://', ''))
      .replaceAll(' ./out', ` ${path.join(dataDir, 'out')}`);
    assert.match(commands, /genjobs run .* --wait/);
    const script = `set -euo pipefail\nshopt -s expand_aliases\n${commands}\nprintf "\\nKEY=%s\\n" "$GENJOBS_API_KEY"\n`;
    const r = spawnSync('bash', ['-c', script], {
      // In the repository's folder, as the README says.
      cwd: packageRoot, encoding: 'utf8', timeout: 120_000,
      env: { ...process.env, ...env, GENJOBS_BASE_URL: server.url },
    });
    assert.equal(r.status, 0, `the quick start failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^completed in [\d.]+s .* local\/image\noutputImage: http/m, 'genjobs run --wait printed the finished job');
    assert.match(r.stdout, /^saved .*\/out\/.*\.gif$/m, '--download saved the video');
    assert.match(r.stdout, /^JOB\s+STATUS/m, 'jobs ls printed a table');
    assert.match(r.stdout, /"object":"list"/, 'curl listed the models and jobs');
    assert.match(r.stdout, /"object":"account"/);
    const key = /^KEY=(sk_live_\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(key, 'the quick start exported GENJOBS_API_KEY');
    process.env.README_TEST_KEY = key;
  });

  it('runs the SDK sample', () => {
    const [sample] = quickStartBlocks('ts');
    assert.ok(sample, 'the quick start has a TypeScript sample');
    const js = ts.transpileModule(sample.replaceAll('http://localhost:8080', server.url), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    // Inside the package, so that `@genjobs/sdk` resolves as it does for a user of this repository.
    const file = path.join(packageRoot, 'dist', 'test', 'docs', `readme-sample-${process.pid}.mjs`);
    fs.writeFileSync(file, js);
    try {
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, GENJOBS_API_KEY: process.env.README_TEST_KEY ?? '' } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^completed \{\s*outputVideo: 'http:\/\/127\.0\.0\.1:\d+\/files\/.+\.gif'\s*\}/);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
