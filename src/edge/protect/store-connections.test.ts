import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { StoreConnections } from './store-connections.ts';

test('caps connections per store and IP, and frees a slot when a connection closes', () => {
  const c = new StoreConnections();
  const [s1, s2, s3] = [new Socket(), new Socket(), new Socket()];
  assert.equal(c.admit(s1, 'shop', '10.0.0.1', 2), true);
  assert.equal(c.admit(s1, 'shop', '10.0.0.1', 2), true, 'the same connection again is not a new one');
  assert.equal(c.admit(s2, 'shop', '10.0.0.1', 2), true);
  assert.equal(c.admit(s3, 'shop', '10.0.0.1', 2), false);
  assert.equal(c.rejectedTotal, 1);
  assert.equal(c.admit(s3, 'shop', '10.0.0.2', 2), true, 'another client has its own count');
  assert.equal(c.admit(new Socket(), 'blog', '10.0.0.1', 2), true, 'another store has its own count');
  s1.emit('close');
  assert.equal(c.count('shop', '10.0.0.1'), 1);
  assert.equal(c.admit(new Socket(), 'shop', '10.0.0.1', 2), true);
});

test('a connection that moves to another store stops counting for the first', () => {
  const c = new StoreConnections();
  const s = new Socket();
  assert.equal(c.admit(s, 'shop', '::ffff:10.0.0.1', 1), true);
  assert.equal(c.admit(s, 'blog', '10.0.0.1', 1), true);
  assert.equal(c.count('shop', '10.0.0.1'), 0);
  assert.equal(c.count('blog', '10.0.0.1'), 1);
  s.emit('close');
  assert.equal(c.count('blog', '10.0.0.1'), 0);
});
