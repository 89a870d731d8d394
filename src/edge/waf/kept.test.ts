import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeptTransactions } from './kept.ts';

function kept(limits: { maxEntries?: number; maxBytes?: number; ttlMs?: number } = {}) {
  let now = 0;
  const k = new KeptTransactions<string>({
    maxEntries: limits.maxEntries ?? 10,
    maxBytes: limits.maxBytes ?? 1000,
    ttlMs: limits.ttlMs ?? 100,
    now: () => now,
  });
  return { k, advance: (ms: number) => (now += ms) };
}

test('a kept value is taken once', () => {
  const { k } = kept();
  assert.equal(k.put(1, 'one', 10), true);
  assert.equal(k.take(1), 'one');
  assert.equal(k.take(1), undefined);
  assert.deepEqual([k.size, k.bytes], [0, 0]);
});

test('the oldest go first when there are too many or they are too large together', () => {
  const { k } = kept({ maxEntries: 2, maxBytes: 100 });
  k.put(1, 'a', 10);
  k.put(2, 'b', 10);
  k.put(3, 'c', 10);
  assert.equal(k.take(1), undefined, 'over the entry count');
  k.put(4, 'd', 85);
  assert.equal(k.take(2), undefined, 'over the byte budget');
  assert.deepEqual([k.take(3), k.take(4)], ['c', 'd']);
});

test('fails to keep a value larger than the whole budget, and drops nothing for it', () => {
  const { k } = kept({ maxBytes: 100 });
  k.put(1, 'a', 50);
  assert.equal(k.put(2, 'huge', 101), false);
  assert.deepEqual([k.take(2), k.take(1)], [undefined, 'a']);
});

test('expired values are gone, and their bytes with them', () => {
  const { k, advance } = kept({ ttlMs: 100 });
  k.put(1, 'a', 10);
  advance(60);
  k.put(2, 'b', 20);
  advance(50);
  assert.equal(k.take(1), undefined);
  assert.deepEqual([k.size, k.bytes], [1, 20]);
  assert.equal(k.take(2), 'b');
});

test('deleting a value that is not there is harmless; a new value under a kept id replaces it', () => {
  const { k } = kept();
  k.delete(9);
  k.put(1, 'a', 10);
  k.put(1, 'b', 30);
  assert.deepEqual([k.size, k.bytes], [1, 30]);
  assert.equal(k.take(1), 'b');
});
