import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../src/ids.js';
import type { Store } from '../../src/store/store.js';

/**
 * The order of an account's ledger, newest first: the entry listed first should be the one
 * written last, whose balance_after is the account's balance. Each write's created_at is the
 * clock reading its caller took before the write; on PostgreSQL a write then waits for a pool
 * connection and for the account's row, so two writes of one account can commit in the other
 * order of their readings (seen in the backup test under load: a charge and a refund). The
 * stores list by a write-order number instead (ledger_entries.seq).
 */
export function ledgerOrderConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`store conformance, ledger order: ${name}`, () => {
    let store: Store;
    const T0 = 1_700_000_000_000;
    beforeEach(async () => { store = await makeStore(); });
    afterEach(async () => { await store.close(); });

    it('lists first the entry written last, even when its clock reading is older than the one before', async () => {
      const u = await store.userCreate({ name: 'ledger order', credits: 100, now: T0 });
      // A run reads the clock at T0 + 5 and waits; a grant read at T0 + 10 is written first.
      const granted = await store.userGrantCredits({ userId: u.id, amount: 7, reason: 'bonus', now: T0 + 10 });
      assert.ok(granted.ok);
      const created = await store.jobCreateCharged({
        id: newId(), userId: u.id, runType: 'model', modelId: 'local/test', appId: null,
        inputData: { input: {} }, webhookUrl: null, cost: 10, now: T0 + 5,
      });
      assert.ok(created.ok);
      const balance = (await store.userGetById({ id: u.id }))!.credits;
      assert.equal(balance, 97);
      const entries = await store.ledgerList({ userId: u.id, limit: 10 });
      assert.deepEqual(entries.map((e) => e.kind), ['charge', 'grant', 'grant']);
      assert.equal(entries[0]!.balanceAfter, balance);
    });
  });
}
