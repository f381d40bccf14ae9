import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';

/** A database with a table whose foreign key is only checked at COMMIT. */
function open(): Database.Database {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
           CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL,
             parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);`);
  return db;
}

describe('sqlite group commit', () => {
  it('commits the writes of one turn in one transaction, each visible to the writes after it', async () => {
    const db = open();
    const group = new GroupCommit(db);
    const seen: number[] = [];
    const write = (id: number) => group.submit(() => {
      assert.ok(db.inTransaction, 'runs inside the batch transaction');
      db.prepare('INSERT INTO t (id, v) VALUES (?, ?)').run(id, 'x');
      seen.push((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n);
      return id;
    });
    const all = Promise.all([write(1), write(2), write(3)]);
    assert.deepEqual(seen, [], 'nothing runs before the turn ends');
    assert.deepEqual(await all, [1, 2, 3]);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(db.inTransaction, false);
    db.close();
  });

  it('rolls back only the write that threw; the others commit', async () => {
    const db = open();
    const group = new GroupCommit(db);
    const insert = (id: number, v: string | null) => group.submit(() => {
      db.prepare('INSERT INTO t (id, v) VALUES (?, ?)').run(id, 'first');
      // A NOT NULL violation after a first write in the same item: both must be undone.
      db.prepare('INSERT INTO t (id, v) VALUES (?, ?)').run(id + 100, v);
      return id;
    });
    const results = await Promise.allSettled([insert(1, 'a'), insert(2, null), insert(3, 'c')]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /NOT NULL/);
    const ids = (db.prepare('SELECT id FROM t ORDER BY id').all() as { id: number }[]).map((r) => r.id);
    assert.deepEqual(ids, [1, 3, 101, 103]);
    db.close();
  });

  it('rejects every write of the batch when the commit fails, and keeps none of them', async () => {
    const db = open();
    const group = new GroupCommit(db);
    const good = group.submit(() => db.prepare('INSERT INTO t (id, v) VALUES (1, ?)').run('ok').changes);
    // Parent 42 does not exist: the deferred key is checked at COMMIT, which fails for the whole batch.
    const orphan = group.submit(() => db.prepare('INSERT INTO t (id, v, parent) VALUES (2, ?, 42)').run('orphan').changes);
    const results = await Promise.allSettled([good, orphan]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((results[0] as PromiseRejectedResult).reason), /FOREIGN KEY/);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 0);
    assert.equal(db.inTransaction, false);
    // The next batch starts clean.
    assert.equal(await group.submit(() => db.prepare('INSERT INTO t (id, v) VALUES (3, ?)').run('later').changes), 1);
    db.close();
  });

  it('commits at once when a batch is full', async () => {
    const db = open();
    const group = new GroupCommit(db, 2);
    let ran = 0;
    const a = group.submit(() => ++ran);
    assert.equal(ran, 0);
    const b = group.submit(() => ++ran);
    assert.equal(ran, 2, 'the second write filled the batch: both ran without waiting for the turn to end');
    const c = group.submit(() => ++ran);
    assert.deepEqual(await Promise.all([a, b, c]), [1, 2, 3]);
    db.close();
  });

  it('flushes on demand', async () => {
    const db = open();
    const group = new GroupCommit(db);
    const p = group.submit(() => db.prepare('INSERT INTO t (id, v) VALUES (1, ?)').run('x').changes);
    group.flush();
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 1);
    assert.equal(await p, 1);
    db.close();
  });
});
