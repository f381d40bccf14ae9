import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newId } from '../../src/ids.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { rewriteOldOutputs, type DescribeFile } from '../../src/jobs/output-rewrites.js';
import type { Store } from '../../src/store/store.js';
import { upgradedStore } from '../helpers/upgrade.js';

/*
 * Rows written before references: their outputs hold URLs of the form <origin>/files/<job>/<name>.
 * The migration (sqlite 0009, postgres 0010) lists them; the data step rewrites each finished one
 * to references, batch by batch, once. Runs on both stores, on rows written the old way: through
 * the store, then the migration's SQL run again as on an upgrade.
 */

type Json = Record<string, any>;

/** A store whose rows `write` makes, then reopened with the output-references migration applied again, as an upgrade would. */
async function reopened(t: TestContext, write: (store: Store) => Promise<void>): Promise<Store & { raw(sql: string, id: string): Promise<void> }> {
  const { store, raw } = await upgradedStore(t, {
    migration: '_output_references.sql', write,
    undo: { sqlite: 'DROP TABLE job_output_rewrites;', postgres: 'DROP TABLE job_output_rewrites' },
  });
  return Object.assign(store, { async raw(sql: string, id: string) { await raw(sql, [id]); } });
}

/** Writes a finished (or, with `finish: false`, processing) job whose output is `output`, as the old code did. */
async function oldJob(store: Store, userId: string, output: (id: string) => unknown, finish = true): Promise<string> {
  const id = newId();
  await store.jobCreateCharged({ id, userId, runType: 'model', modelId: 'local/image', appId: null, inputData: {}, webhookUrl: null, cost: 0, now: Date.now() });
  const [claimed] = await store.jobClaim({ owner: 'old', limit: 1, leaseMs: 60_000, now: Date.now(), maxAttempts: 3 });
  assert.equal(claimed?.id, id);
  if (finish) await store.jobComplete({ id, leaseToken: claimed!.leaseToken, outputData: output(id), now: Date.now() });
  else await store.jobSetOutput({ id, leaseToken: claimed!.leaseToken, outputData: output(id) });
  return id;
}

describe('outputs stored before references', () => {
  it('are rewritten to references once, in batches: checksum and size from the file when it is there, what the name tells when not', async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-old-files-'));
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const storage = new LocalFileStorage(dataDir);
    const ids: Record<string, string> = {};
    const bytes = randomBytes(1234);
    let keptKey = '';
    const store = await reopened(t, async (s) => {
      const user = await s.userCreate({ name: null, credits: 0, now: Date.now() });
      ids.kept = await oldJob(s, user.id, (id) => ({ outputImage: `http://localhost:8080/files/${id}/kept.png` }));
      keptKey = `${ids.kept}/kept.png`;
      fs.mkdirSync(path.join(dataDir, 'files', ids.kept), { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'files', keptKey), bytes);
      ids.gone = await oldJob(s, user.id, (id) => ({ outputVideo: `https://old.example.com/files/${id}/gone.mp4`, outputText: `https://old.example.com/files/${id}/t.txt` }));
      ids.foreign = await oldJob(s, user.id, () => ({ outputImage: 'https://upstream.example/files/their-job/a.png' }));
      ids.dollar = await oldJob(s, user.id, () => ({ outputText: 'hi', raw: { $file: { key: 'other/x.png' } } }));
      ids.text = await oldJob(s, user.id, () => ({ outputText: 'no files here' }));
      ids.running = await oldJob(s, user.id, (id) => ({ app_id: 'a', app_name: 'A', node_outputs: { n: { outputImage: `http://h/files/${id}/n.png` } } }), false);
      for (let i = 0; i < 5; i++) await oldJob(s, user.id, (id) => ({ outputImage: `http://h/files/${id}/f${i}.png` }));
    });
    assert.equal(await store.jobOutputRewritesLeft(), 10, 'every job with a file URL or a "$" key is listed; the text-only one is not');

    const described: string[] = [];
    const describe: DescribeFile = async (key) => {
      described.push(key);
      const file = await storage.open(key);
      if (!file) return null;
      const hash = createHash('sha256');
      for await (const chunk of file.body) hash.update(chunk as Buffer);
      return { key, size: file.size, contentType: file.contentType, sha256: hash.digest('hex') };
    };
    // Batches of 3: every finished job is done, the processing one waits.
    assert.equal(await rewriteOldOutputs(store, describe, { batch: 3 }), 9);
    const output = async (id: string) => (await store.jobGetById({ id }))!.outputData as Json;
    assert.deepEqual(await output(ids.kept!), { outputImage: { $file: { key: keptKey, size: bytes.length, contentType: 'image/png', sha256: createHash('sha256').update(bytes).digest('hex') } } });
    assert.deepEqual(await output(ids.gone!), {
      outputVideo: { $file: { key: `${ids.gone}/gone.mp4`, contentType: 'video/mp4' } },
      outputText: `https://old.example.com/files/${ids.gone}/t.txt`,
    });
    assert.deepEqual(await output(ids.foreign!), { outputImage: 'https://upstream.example/files/their-job/a.png' }, 'another job\'s file URL stays a URL');
    assert.deepEqual(await output(ids.dollar!), { outputText: 'hi', raw: { $$file: { key: 'other/x.png' } } }, 'a "$" key is escaped, never a marker');
    assert.deepEqual(await output(ids.text!), { outputText: 'no files here' });
    assert.equal(await store.jobOutputRewritesLeft(), 1);

    // Nothing left to do until the processing job finishes; a second pass rewrites nothing again.
    described.length = 0;
    assert.equal(await rewriteOldOutputs(store, describe, { batch: 3 }), 0);
    assert.deepEqual(described, []);
    const running = (await store.jobGetById({ id: ids.running! }))!;
    await store.jobComplete({ id: running.id, leaseToken: running.leaseToken, outputData: running.outputData, now: Date.now() });
    assert.equal(await rewriteOldOutputs(store, describe, { batch: 3 }), 1);
    assert.deepEqual((await output(ids.running!)).node_outputs, { n: { outputImage: { $file: { key: `${ids.running}/n.png`, contentType: 'image/png' } } } });
    assert.equal(await store.jobOutputRewritesLeft(), 0);
  });

  it('a listed job deleted meanwhile (retention) is struck off without a rewrite', async (t) => {
    let id = '';
    const store = await reopened(t, async (s) => {
      const user = await s.userCreate({ name: null, credits: 0, now: Date.now() });
      id = await oldJob(s, user.id, (j) => ({ outputImage: `http://h/files/${j}/a.png` }));
    });
    assert.equal(await store.jobOutputRewritesLeft(), 1);
    await store.raw('DELETE FROM jobs WHERE id = $1', id);
    assert.deepEqual(await store.jobOutputRewritesNext({ limit: 10 }), [{ id, exists: false, outputData: null }]);
    assert.equal(await rewriteOldOutputs(store, async () => assert.fail('nothing to describe'), { batch: 10 }), 1);
    assert.equal(await store.jobOutputRewritesLeft(), 0);
  });
});
