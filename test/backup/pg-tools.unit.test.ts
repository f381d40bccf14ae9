import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPgProgram, libpqConnection } from '../../src/backup/pg-tools.js';
import { BackupError } from '../../src/backup/errors.js';

describe('backup: PostgreSQL programs', () => {
  it('hands the URL\'s password to pg_dump in PGPASSWORD, never on its command line', () => {
    const { dbname, env } = libpqConnection('postgres://genjobs:s%40cret%2Fx@db.internal:5433/jobs?sslmode=require');
    assert.equal(dbname, 'postgres://genjobs@db.internal:5433/jobs?sslmode=require');
    assert.deepEqual(env, { PGPASSWORD: 's@cret/x' });
    assert.deepEqual(libpqConnection('postgres://genjobs@db/jobs').env, {});
  });

  it('finds a program in the folder named, and says how to get it when it is not there', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-pgbin-'));
    try {
      assert.throws(() => findPgProgram('pg_dump', dir), (err: unknown) => err instanceof BackupError && /pg_dump was not found .*--pg-bin/.test(err.message));
      const file = path.join(dir, 'pg_dump');
      fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
      assert.equal(findPgProgram('pg_dump', dir), file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
