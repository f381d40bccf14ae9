import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, testApp } from '../helpers/app.js';
import { CLI } from '../helpers/process.js';
import { processStoreEnv } from '../helpers/store.js';
import { MAX_BALANCE } from '../../src/store/limits.js';
import { parseBigint } from '../../src/store/postgres/connection.js';
import { cancelRefund } from '../../src/jobs/cancel-job.js';
import { loadConfig } from '../../src/config/config.js';
import { openStore } from '../../src/store/open.js';
import type { JobRecord } from '../../src/store/store.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

describe('credits are exact integers end to end', () => {
  it('refuses a grant past the maximum balance with a 400 that names the maximum', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId } = await app.account({ credits: 0 });
    assert.ok((await app.store.userGrantCredits({ userId, amount: MAX_BALANCE - 5, reason: null, now: Date.now() })).ok);
    const res = await app.server.inject({ method: 'POST', url: `/admin/v1/users/${userId}/credits`, headers: admin, payload: { amount: 10 } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), {
      error: `amount: would take the account past the maximum balance of ${MAX_BALANCE} credits (it has ${MAX_BALANCE - 5}, counting credits held by its unfinished jobs): grant at most 5`,
      code: 'balance_limit',
    });
    const fits = await app.server.inject({ method: 'POST', url: `/admin/v1/users/${userId}/credits`, headers: admin, payload: { amount: 5 } });
    assert.equal(fits.statusCode, 200, fits.body);
    assert.equal((await app.store.userGetById({ id: userId }))?.credits, MAX_BALANCE);
  });

  it('refuses amounts that are not whole, not numbers, or past 2^53 in the JSON, and changes nothing', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { userId } = await app.account({ credits: 7 });
    // Raw JSON text: 9007199254740993 parses to 9007199254740992, which must not pass as a number of credits.
    for (const amount of ['1.5', '1e20', '"5"', '9007199254740993', '-9007199254740993', 'null', 'true', '1000000000001']) {
      const res = await app.server.inject({ method: 'POST', url: `/admin/v1/users/${userId}/credits`, headers: admin, payload: `{"amount": ${amount}}` });
      assert.equal(res.statusCode, 400, amount);
      assert.equal(res.json().code, 'invalid_parameter', amount);
    }
    assert.equal((await app.store.userGetById({ id: userId }))?.credits, 7);
  });

  it('reads PostgreSQL bigints as numbers only while they are exact', () => {
    assert.equal(parseBigint('1000000000000000'), MAX_BALANCE);
    assert.equal(parseBigint('-9007199254740991'), -9007199254740991);
    assert.throws(() => parseBigint('9007199254740993'), RangeError);
    assert.throws(() => parseBigint('9223372036854775807'), RangeError);
  });

  it('computes a partial refund of the largest charge exactly', () => {
    const job = (creditsCharged: number) => ({ status: 'processing', creditsCharged }) as JobRecord;
    // Charge x percent passes 2^53 here: in floating point the product rounds, and the refund with it.
    assert.equal(cancelRefund(67)(job(999_999_999_999_997)), 669_999_999_999_997);
    assert.equal(cancelRefund(60)(job(864_197_523_086_415)), 518_518_513_851_849);
    assert.equal(cancelRefund(100)(job(MAX_BALANCE)), MAX_BALANCE);
  });

  it('genjobs credits grant takes digits only and names the maximum when refused', async (t) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-credits-cli-'));
    const env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...processStoreEnv() };
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
    const created = run('users', 'create', '--credits', '0', '-q');
    assert.equal(created.status, 0, created.stderr);
    const userId = created.stdout.trim();
    for (const amount of ['1.5', '0x10', '1e3', '', '9007199254740993']) {
      const r = run('credits', 'grant', userId, amount);
      assert.equal(r.status, 2, `${amount}: ${r.stderr}`);
      assert.match(r.stderr, /^genjobs: amount: ".*" is not a whole number/, amount);
    }
    assert.notEqual(run('users', 'create', '--credits', '1.5').status, 0, '--credits takes whole numbers only');
    const store = await openStore(loadConfig(env));
    try {
      assert.ok((await store.userGrantCredits({ userId, amount: MAX_BALANCE - 1, reason: null, now: Date.now() })).ok);
    } finally {
      await store.close();
    }
    const refused = run('credits', 'grant', userId, '2');
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`maximum balance of ${MAX_BALANCE} credits .*grant at most 1`));
    const ok = run('credits', 'grant', userId, '1');
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).credits, MAX_BALANCE);
  });
});
