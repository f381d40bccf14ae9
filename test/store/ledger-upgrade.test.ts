import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/ids.js';
import { testStoreKind } from '../helpers/store.js';
import { upgradedStore } from '../helpers/upgrade.js';

/*
 * The ledger's write-order number (sqlite 0011, postgres 0013) on a database written before it:
 * the rows are written through the store, the column is then taken away as if the migration had
 * never run, and the migration's SQL is run again, as an upgrade would.
 */
describe(`ledger write order, added to a database written before it (${testStoreKind})`, () => {
  it('numbers the old entries in the order they were listed, and lists entries written after it first', async (t) => {
    const T0 = 1_700_000_000_000;
    let userId = '';
    const { store, raw } = await upgradedStore(t, {
      migration: '_ledger_write_order.sql',
      // On PostgreSQL, dropping the column drops the sequence it owns.
      undo: {
        sqlite: 'DROP INDEX ledger_by_user_seq; ALTER TABLE ledger_entries DROP COLUMN seq;',
        postgres: 'DROP INDEX ledger_by_user_seq; ALTER TABLE ledger_entries DROP COLUMN seq',
      },
      async write(old) {
        const u = await old.userCreate({ name: 'before the upgrade', credits: 100, now: T0 });
        userId = u.id;
        assert.ok((await old.userGrantCredits({ userId, amount: 7, reason: 'bonus', now: T0 + 20 })).ok);
        const created = await old.jobCreateCharged({
          id: newId(), userId, runType: 'model', modelId: 'local/test', appId: null,
          inputData: { input: {} }, webhookUrl: null, cost: 10, now: T0 + 10,
        });
        assert.ok(created.ok);
      },
    });
    const [unnumbered] = await raw<{ n: number | string }>('SELECT COUNT(*) AS n FROM ledger_entries WHERE seq IS NULL');
    assert.equal(Number(unnumbered!.n), 0, 'every old entry has its number');
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
