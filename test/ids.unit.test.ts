import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validate, version } from 'uuid';
import { newId } from '../src/ids.js';

describe('ids', () => {
  it('are valid v7 UUIDs, all different, in creation order, across many refills of the random pool', () => {
    const ids = Array.from({ length: 5_000 }, () => newId());
    for (const id of ids) {
      assert.ok(validate(id), id);
      assert.equal(version(id), 7);
    }
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} sorts before ${ids[i]}`);
  });

  it('carry the time they were made', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    const msecs = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    // The monotonic counter may have pushed it at most a little past the clock.
    assert.ok(msecs >= before && msecs <= after + 1, `${msecs} within [${before}, ${after}]`);
  });

  it('do not repeat the random part of earlier ids', () => {
    const tails = new Set(Array.from({ length: 1_000 }, () => newId().slice(24)));
    assert.equal(tails.size, 1_000);
  });
});
