import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PgDb } from '../../src/store/postgres/db.js';
import { testStoreKind } from '../helpers/store.js';

/**
 * Two transactions that lock the same two rows in opposite orders deadlock; PostgreSQL aborts
 * one of them. That one did nothing and is run again, so neither caller sees an error.
 */
describe('postgres store: a transaction chosen as a deadlock victim', { skip: testStoreKind !== 'postgres' ? 'needs PostgreSQL' : false }, () => {
  it('is run again and both transactions commit', async () => {
    const db = new PgDb({ url: process.env.GENJOBS_TEST_PG_URL!, schema: undefined, poolSize: 3, onBackgroundError: () => {} });
    const table = `t_deadlock_${randomBytes(6).toString('hex')}`;
    try {
      await db.q(`CREATE TABLE ${table} (id int PRIMARY KEY, n int NOT NULL)`);
      await db.q(`INSERT INTO ${table} VALUES (1, 0), (2, 0)`);
      // Both hold their first row before either asks for its second: the first try of one of them must deadlock.
      let holding = 0;
      let bothHold!: () => void;
      const met = new Promise<void>((resolve) => { bothHold = resolve; });
      const lockBoth = (first: number, second: number) => db.tx(async (sql) => {
        await sql.q(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [first]);
        if (++holding === 2) bothHold();
        await met;
        await sql.q(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [second]);
      });
      await Promise.all([lockBoth(1, 2), lockBoth(2, 1)]);
      assert.equal(db.retriedTransactions, 1, 'the victim was run once more');
      // Each transaction's two updates landed exactly once.
      assert.deepEqual(await db.q(`SELECT id, n FROM ${table} ORDER BY id`), [{ id: 1, n: 2 }, { id: 2, n: 2 }]);
    } finally {
      await db.q(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
      await db.pool.end();
    }
  });
});
