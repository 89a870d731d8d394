import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionLimiter } from './connections.ts';

describe('ConnectionLimiter', () => {
  it('accepts up to maxPerIp connections from one IP', () => {
    const cl = new ConnectionLimiter({ maxTotal: 100, maxPerIp: 2 });
    assert.deepEqual(
      ['1.1.1.1', '1.1.1.1', '1.1.1.1', '2.2.2.2'].map((ip) => cl.tryAcquire(ip)),
      [true, true, false, true],
    );
    assert.deepEqual(cl.stats(), { total: 3, ips: 2, rejectedTotal: 1, unmatchedReleases: 0 });
  });

  it('accepts up to maxTotal connections over all IPs', () => {
    const cl = new ConnectionLimiter({ maxTotal: 3, maxPerIp: 10 });
    assert.deepEqual(
      ['1.0.0.1', '1.0.0.2', '1.0.0.3', '1.0.0.4'].map((ip) => cl.tryAcquire(ip)),
      [true, true, true, false],
    );
  });

  it('accepts again once a connection is released', () => {
    const cl = new ConnectionLimiter({ maxTotal: 10, maxPerIp: 1 });
    cl.tryAcquire('1.1.1.1');
    cl.release('1.1.1.1');
    assert.equal(cl.tryAcquire('1.1.1.1'), true);
    assert.deepEqual(cl.stats(), { total: 1, ips: 1, rejectedTotal: 0, unmatchedReleases: 0 });
  });

  it('forgets an IP whose last connection closed', () => {
    const cl = new ConnectionLimiter({ maxTotal: 10, maxPerIp: 5 });
    cl.tryAcquire('1.1.1.1');
    cl.tryAcquire('1.1.1.1');
    cl.release('1.1.1.1');
    cl.release('1.1.1.1');
    assert.deepEqual(cl.stats(), { total: 0, ips: 0, rejectedTotal: 0, unmatchedReleases: 0 });
  });

  it('counts a release without a connection instead of going below zero', () => {
    const cl = new ConnectionLimiter({ maxTotal: 1, maxPerIp: 1 });
    cl.tryAcquire('1.1.1.1');
    cl.release('2.2.2.2');
    assert.equal(cl.tryAcquire('3.3.3.3'), false, 'the total cap still holds');
    assert.deepEqual(cl.stats(), { total: 1, ips: 1, rejectedTotal: 1, unmatchedReleases: 1 });
  });

  it('counts an IPv4 client and its IPv4-mapped form as one IP', () => {
    const cl = new ConnectionLimiter({ maxTotal: 10, maxPerIp: 1 });
    cl.tryAcquire('1.1.1.1');
    assert.equal(cl.tryAcquire('::ffff:1.1.1.1'), false);
  });

  it('applies a new total cap while keeping open connections', () => {
    const cl = new ConnectionLimiter({ maxTotal: 3, maxPerIp: 10 });
    for (const ip of ['1.0.0.1', '1.0.0.2', '1.0.0.3']) cl.tryAcquire(ip);
    assert.equal(cl.resize(2), cl);
    cl.release('1.0.0.1');
    assert.equal(cl.tryAcquire('1.0.0.4'), false, 'still at the new cap');
    cl.release('1.0.0.2');
    assert.equal(cl.tryAcquire('1.0.0.4'), true);
  });

  it('applies a new per-IP cap', () => {
    const cl = new ConnectionLimiter({ maxTotal: 100, maxPerIp: 10 });
    for (let i = 0; i < 3; i++) assert.equal(cl.tryAcquire('1.0.0.1'), true);
    cl.resize(100, 3);
    assert.equal(cl.tryAcquire('1.0.0.1'), false);
    assert.equal(cl.tryAcquire('1.0.0.2'), true);
  });
});
