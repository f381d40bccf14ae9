import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { sweepOrphanFiles } from '../../src/maintenance/orphan-files.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import type { FileStorage } from '../../src/files/storage.js';
import { newId } from '../../src/ids.js';
import type { Store } from '../../src/store/store.js';
import { freshStore } from '../helpers/store.js';
import { startS3Server } from '../helpers/s3-server.js';
import { eventually, testApp } from '../helpers/app.js';
import { loadConfig, ConfigError } from '../../src/config/config.js';

const HOUR = 3_600_000;
const silent = pino({ level: 'silent' });

/** Every key the storage holds, walked from the start. */
async function allKeys(files: FileStorage): Promise<string[]> {
  const keys: string[] = [];
  let after: string | null = null;
  do {
    const page: Awaited<ReturnType<FileStorage['list']>> = await files.list({ after, limit: 1_000 });
    keys.push(...page.files.map((f) => f.key));
    after = page.next;
  } while (after !== null);
  return keys.sort();
}

/** Jobs in each state the sweep tells apart, each with files; which keys must stay and which must go. */
async function seed(store: Store, files: FileStorage) {
  const user = await store.userCreate({ name: 'o', credits: 10_000, now: Date.now() });
  const put = async (jobId: string, content: string) => (await files.put({ jobId, extension: 'png', source: Buffer.from(content), limit: 100 })).key;
  const create = async () => {
    const r = await store.jobCreateCharged({ id: newId(), userId: user.id, runType: 'model', modelId: 'local/test', appId: null, inputData: { input: {} }, webhookUrl: null, cost: 1, now: Date.now() });
    assert.ok(r.ok);
    return r.job.id;
  };
  const claim = async (id: string) => {
    const [claimed] = await store.jobClaim({ owner: 'exec', limit: 1, leaseMs: 10 * HOUR, now: Date.now(), maxAttempts: 3 });
    assert.equal(claimed?.id, id);
    return claimed.leaseToken;
  };
  const keep: string[] = [];
  const gone: string[] = [];

  // Finished: the file its output names as a reference stays, and the one named by an old-style
  // URL (a row not rewritten yet, any address); a file it never named goes.
  const done = await create();
  const lease = await claim(done);
  const named = await put(done, 'named');
  const legacy = await put(done, 'legacy');
  const stray = await put(done, 'never reported');
  const ref = { $file: { key: named } };
  assert.ok(await store.jobComplete({ id: done, leaseToken: lease, outputData: { outputImage: ref, more: [`http://old.example:8080/files/${legacy}`] }, now: Date.now() }));
  keep.push(named, legacy);
  gone.push(stray);

  // Failed after writing a file: nothing names it.
  const failed = await create();
  const failLease = await claim(failed);
  gone.push(await put(failed, 'half a result'));
  assert.ok(await store.jobFail({ id: failed, leaseToken: failLease, errorMessage: 'boom', now: Date.now() }));

  // Still running, and still waiting: an attempt may yet name their files.
  const running = await create();
  await claim(running);
  keep.push(await put(running, 'running'));
  const pending = await create();
  keep.push(await put(pending, 'pending'));

  // No row at all: a job whose row never committed, or whose files outlived its deletion.
  gone.push(await put(newId(), 'ghost 1'), await put(newId(), 'ghost 2'));
  return { keep: keep.sort(), gone: gone.sort() };
}

function sweepSuite(name: string, make: (t: TestContext) => Promise<{ files: FileStorage; partial?: () => string }>): void {
  describe(`orphan file sweep on ${name}`, () => {
    it('removes only old files no job will show, a few pages per pass, and never a young one', async (t) => {
      const store = await freshStore();
      t.after(() => store.close());
      const { files, partial } = await make(t);
      const { keep, gone } = await seed(store, files);
      const leftover = partial?.();
      const removed: number[] = [];
      const chore = sweepOrphanFiles({ store, files, logger: silent, onDeleted: (n) => removed.push(n) }, { minAgeMs: HOUR, everyMs: 1, pageSize: 2, pagesPerPass: 2 });

      // Everything is younger than the age: whole rounds of passes remove nothing.
      for (let pass = 0; pass < 6; pass++) assert.equal(await chore.run(Date.now()), 0);
      assert.deepEqual(await allKeys(files), [...keep, ...gone, ...(leftover ? [leftover] : [])].sort());

      // Two hours on, every file is old enough: passes of at most two pages of two remove the orphans.
      const later = Date.now() + 2 * HOUR;
      const first = await chore.run(later);
      assert.ok(first <= 4, `one pass looks at four files at most (removed ${first})`);
      for (let pass = 0; pass < 10; pass++) await chore.run(later);
      assert.deepEqual(await allKeys(files), keep, 'what a job names or may yet name stays; the rest is gone');
      assert.equal(removed.reduce((a, b) => a + b, 0), gone.length + (leftover ? 1 : 0));
    });
  });
}

sweepSuite('the local folder', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-orphans-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = new LocalFileStorage(dir);
  return {
    files,
    // A write a crash cut short: its hidden temporary file.
    partial: () => {
      fs.mkdirSync(path.join(files.root, 'crashed-job'), { recursive: true });
      fs.writeFileSync(path.join(files.root, 'crashed-job', '.Ab3_x-9QzLmN.png.tmp'), 'half');
      return 'crashed-job/.Ab3_x-9QzLmN.png.tmp';
    },
  };
});

sweepSuite('S3 (s3rver over HTTP, with a key prefix)', async (t) => {
  const s3 = await startS3Server();
  t.after(() => s3.close());
  return { files: s3.storage({ prefix: 'genjobs/', deleteBatch: 2 }) };
});

describe('GENJOBS_ORPHAN_FILE_AGE', () => {
  it('is off by default; an age of an hour or more turns the sweep on; anything else stops the start', async (t) => {
    assert.equal(loadConfig({}).orphanFileAgeMs, null);
    assert.equal(loadConfig({ GENJOBS_ORPHAN_FILE_AGE: 'off' }).orphanFileAgeMs, null);
    assert.equal(loadConfig({ GENJOBS_ORPHAN_FILE_AGE: '2d' }).orphanFileAgeMs, 2 * 24 * HOUR);
    assert.throws(() => loadConfig({ GENJOBS_ORPHAN_FILE_AGE: '30m' }), (e: unknown) => e instanceof ConfigError && /too short: use at least 1h/.test(e.message));
    assert.throws(() => loadConfig({ GENJOBS_ORPHAN_FILE_AGE: '3600' }), (e: unknown) => e instanceof ConfigError && /age with its unit/.test(e.message));
    const off = await testApp();
    t.after(() => off.dispose());
    assert.equal(off.maintenance!.choreNames.includes('sweep-orphan-files'), false);
    const on = await testApp({ GENJOBS_ORPHAN_FILE_AGE: '1d' });
    t.after(() => on.dispose());
    assert.ok(on.maintenance!.choreNames.includes('sweep-orphan-files'));
    // A file no job names, seen by the service two days on: removed, and counted.
    const orphan = path.join(on.dataDir, 'files', newId(), 'left.png');
    fs.mkdirSync(path.dirname(orphan), { recursive: true });
    fs.writeFileSync(orphan, 'no job names me');
    await eventually(async () => {
      await on.maintenance!.tick(Date.now() + 2 * 24 * HOUR);
      return fs.existsSync(orphan) ? undefined : true;
    }, 10_000, 'the orphan to be removed');
    const counted = await on.metrics.registry.getSingleMetricAsString('genjobs_retention_deleted_total');
    assert.match(counted, /genjobs_retention_deleted_total\{kind="orphan_files"\} 1/);
  });
});
