import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storeConformance } from './conformance.js';
import { fairConformance } from './conformance-fair.js';
import { auditConformance } from './conformance-audit.js';
import { retentionConformance } from './conformance-retention.js';
import { ledgerOrderConformance } from './conformance-ledger-order.js';
import { freshStore } from '../helpers/store.js';
import Database from 'better-sqlite3';
import { newId } from '../../src/ids.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

storeConformance(process.env.GENJOBS_TEST_STORE ?? 'sqlite', freshStore);
fairConformance(process.env.GENJOBS_TEST_STORE ?? 'sqlite', freshStore);
auditConformance(process.env.GENJOBS_TEST_STORE ?? 'sqlite', freshStore);
retentionConformance(process.env.GENJOBS_TEST_STORE ?? 'sqlite', freshStore);
ledgerOrderConformance(process.env.GENJOBS_TEST_STORE ?? 'sqlite', freshStore);

describe('sqlite file store', () => {
  it('counts the pending jobs already there when the queue count is added', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-store-'));
    const filename = path.join(dir, 'genjobs.db');
    try {
      const a = new SqliteStore({ filename });
      const u = await a.userCreate({ name: null, credits: 100, now: 1 });
      const ids = [newId(), newId(), newId()];
      for (const [i, id] of ids.entries()) {
        await a.jobCreateCharged({ id, userId: u.id, runType: 'model', modelId: 'm/x', appId: null, inputData: {}, webhookUrl: null, cost: 1, now: 10 + i });
      }
      await a.close();
      // Back to the schema before the count: the next open adds it to a database that has pending jobs.
      const raw = new Database(filename);
      raw.exec(`DROP TRIGGER jobs_pending_count_insert; DROP TRIGGER jobs_pending_count_update; DROP TRIGGER jobs_pending_count_delete;
                DROP TABLE job_queue_count; DELETE FROM schema_migrations WHERE version = 5;`);
      raw.close();
      const b = new SqliteStore({ filename });
      assert.deepEqual(await Promise.all(ids.map((id, i) => b.jobQueuePosition({ id, createdAt: 10 + i }))), [0, 1, 2]);
      await b.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('claims nothing from an empty queue without taking the write lock', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-store-'));
    const filename = path.join(dir, 'genjobs.db');
    const store = new SqliteStore({ filename });
    // Another process (the CLI) holds the write lock, and keeps it while the claims run.
    const other = new Database(filename);
    other.pragma('busy_timeout = 0');
    try {
      other.exec('BEGIN IMMEDIATE');
      assert.deepEqual(await store.jobClaim({ owner: 'a', limit: 16, leaseMs: 30_000, now: 1, maxAttempts: 3 }), []);
      assert.deepEqual(await store.webhookClaimDue({ owner: 'a', now: 1, limit: 16, leaseMs: 30_000 }), []);
      other.exec('COMMIT');
    } finally {
      other.close();
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps its data across a reopen and applies migrations once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-store-'));
    const filename = path.join(dir, 'genjobs.db');
    try {
      const a = new SqliteStore({ filename });
      const u = await a.userCreate({ name: 'kept', credits: 7, now: 1 });
      await a.close();
      const b = new SqliteStore({ filename });
      assert.equal((await b.userGetById({ id: u.id }))?.credits, 7);
      await b.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
