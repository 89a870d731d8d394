import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ring } from './ring.ts';

test('refuses a push when full and keeps the items it has', () => {
  const r = new Ring<number>(3);
  assert.deepEqual(
    [1, 2, 3, 4].map((i) => r.push(i)),
    [true, true, true, false],
  );
  assert.equal(r.length, 3);
  assert.deepEqual(r.peek(10), [1, 2, 3]);
});

test('peeks without removing, drops from the head, and wraps around', () => {
  const r = new Ring<number>(3);
  for (const i of [1, 2, 3]) r.push(i);
  assert.deepEqual(r.peek(2), [1, 2]);
  assert.equal(r.length, 3);
  r.drop(2);
  assert.deepEqual(r.peek(5), [3]);
  r.push(4);
  r.push(5);
  assert.equal(r.push(6), false);
  assert.deepEqual(r.peek(3), [3, 4, 5]);
  r.drop(99);
  assert.equal(r.length, 0);
  assert.deepEqual(r.peek(1), []);
});
