import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { PgDb } from '../../src/store/postgres/db.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { testStoreKind } from '../helpers/store.js';

/**
 * Found by the fault suite (docs/reliability.md): on a database restart, an API process died of
 * an unhandled 'error' event. A client that `pool.connect()` hands to a waiting transaction has no
 * error listener until the transaction's code runs, a microtask later; PostgreSQL's FATAL
 * "terminating connection" read in that gap (it can arrive in the same read as the answer that
 * freed the client) was emitted to nobody, and node ends a process on an unheard 'error'.
 */
describe('postgres store: a connection lost as it is handed to a transaction', { skip: testStoreKind !== 'postgres' ? 'needs PostgreSQL' : false }, () => {
  it('fails that transaction as unavailable, keeps the process alive and serves the next statement', async () => {
    const background: unknown[] = [];
    const db = new PgDb({ url: process.env.GENJOBS_TEST_PG_URL!, schema: undefined, poolSize: 1, onBackgroundError: (err) => background.push(err) });
    try {
      await db.q('SELECT 1'); // the pool's one client, now idle
      const taken = new Promise((resolve) => db.pool.once('acquire', resolve));
      const busy = db.q('SELECT pg_sleep(0.2)'); // takes it
      await taken;
      let unheard: unknown;
      db.pool.once('acquire', (client: pg.PoolClient) => {
        // The next hand-over is the transaction's: the connection breaks before its code runs.
        queueMicrotask(() => {
          const fatal = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
          try {
            (client as unknown as { _handleErrorEvent(err: Error): void })._handleErrorEvent(fatal);
          } catch (err) {
            unheard = err; // what would have ended the process
          }
        });
      });
      const tx = db.tx(async (sql) => sql.q('SELECT 1 AS one'));
      await busy;
      await assert.rejects(tx, StoreUnavailableError);
      assert.equal(unheard, undefined, 'the error was heard');
      assert.deepEqual(await db.q('SELECT 2 AS two'), [{ two: 2 }]);
    } finally {
      await db.end();
    }
  });
});
