import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storeConformance } from './conformance.js';
import { freshStore } from '../helpers/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

storeConformance(process.env.GENJOBS_TEST_STORE ?? 'sqlite', freshStore);

describe('sqlite file store', () => {
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
