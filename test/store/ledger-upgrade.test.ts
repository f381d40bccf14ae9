import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId } from '../../src/ids.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { testStoreKind } from '../helpers/store.js';
import { migrationsDir } from '../../src/paths.js';

/** The write-order migration of a dialect, to run again by hand as an upgrade would (later migrations stay applied). */
const migrationSql = (dialect: 'sqlite' | 'postgres') => {
  const dir = migrationsDir(dialect);
  return fs.readFileSync(path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('_ledger_write_order.sql'))!), 'utf8');
};

/*
 * The ledger's write-order number (sqlite 0011, postgres 0013) on a database written before it:
 * the rows are written through the store, the column is then taken away as if the migration had
 * never run, and the migration's SQL is run again, as an upgrade would.
 */

/** Writes with `write`, goes back to the schema before the write-order number, and opens the store again. */
async function upgraded(t: TestContext, write: (store: Store) => Promise<void>): Promise<{ store: Store; nullSeqs: () => Promise<number> }> {
  if (testStoreKind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-ledger-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const filename = path.join(dir, 'genjobs.db');
    const before = new SqliteStore({ filename });
    await write(before);
    await before.close();
    const raw = new Database(filename);
    raw.exec('DROP INDEX ledger_by_user_seq; ALTER TABLE ledger_entries DROP COLUMN seq;');
    raw.exec(migrationSql('sqlite'));
    raw.close();
    const store = new SqliteStore({ filename });
    t.after(() => store.close());
    return {
      store,
      async nullSeqs() {
        const db = new Database(filename, { readonly: true });
        try { return (db.prepare('SELECT COUNT(*) AS n FROM ledger_entries WHERE seq IS NULL').get() as { n: number }).n; } finally { db.close(); }
      },
    };
  }
  const url = process.env.GENJOBS_TEST_PG_URL!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const before = await PgStore.open({ url, schema, poolSize: 2 });
  await write(before);
  await before.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t.after(() => client.end());
  await client.query(`SET search_path TO "${schema}"`);
  // Dropping the column drops the sequence it owns.
  await client.query('DROP INDEX ledger_by_user_seq; ALTER TABLE ledger_entries DROP COLUMN seq');
  await client.query(migrationSql('postgres'));
  const store = await PgStore.open({ url, schema, poolSize: 2 });
  t.after(() => store.close());
  return {
    store,
    async nullSeqs() {
      return Number((await client.query<{ n: string }>('SELECT COUNT(*) AS n FROM ledger_entries WHERE seq IS NULL')).rows[0]!.n);
    },
  };
}

describe(`ledger write order, added to a database written before it (${testStoreKind})`, () => {
  it('numbers the old entries in the order they were listed, and lists entries written after it first', async (t) => {
    const T0 = 1_700_000_000_000;
    let userId = '';
    const { store, nullSeqs } = await upgraded(t, async (old) => {
      const u = await old.userCreate({ name: 'before the upgrade', credits: 100, now: T0 });
      userId = u.id;
      assert.ok((await old.userGrantCredits({ userId, amount: 7, reason: 'bonus', now: T0 + 20 })).ok);
      const created = await old.jobCreateCharged({
        id: newId(), userId, runType: 'model', modelId: 'local/test', appId: null,
        inputData: { input: {} }, webhookUrl: null, cost: 10, now: T0 + 10,
      });
      assert.ok(created.ok);
    });
    assert.equal(await nullSeqs(), 0, 'every old entry has its number');
    // The old order (by clock reading) is kept for the entries written before the upgrade.
    const old = (await store.ledgerList({ userId, limit: 10 })).map((e) => [e.kind, e.createdAt - T0]);
    assert.deepEqual(old, [['grant', 20], ['charge', 10], ['grant', 0]]);
    // Written after the upgrade with an older clock reading than every entry: listed first all the same.
    assert.ok((await store.userGrantCredits({ userId, amount: 3, reason: 'late', now: T0 + 1 })).ok);
    const entries = await store.ledgerList({ userId, limit: 10 });
    assert.deepEqual(entries.map((e) => e.reason), ['late', 'bonus', entries[2]!.reason, entries[3]!.reason]);
    assert.equal(entries[0]!.balanceAfter, (await store.userGetById({ id: userId }))!.credits);
    assert.equal(entries[0]!.balanceAfter, 100);
  });
});
