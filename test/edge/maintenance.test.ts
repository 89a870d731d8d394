import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EdgeProcess, get, shopSnapshot, Upstream, until, writeSnapshot } from './harness.ts';

describe('a store in maintenance (a restore is writing it)', { timeout: 60_000 }, () => {
  const up = new Upstream();
  let edge: EdgeProcess;
  let file = '';

  before(async () => {
    await up.start();
    edge = new EdgeProcess([]);
    file = join(edge.dataDir, 'snapshot.json');
    writeSnapshot(file, shopSnapshot(1, [up.port]));
    edge.args.push('--snapshot', file);
    await edge.start();
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    await up.kill();
  });

  test('is answered by the edge with 503 and Retry-After, never by the store, until it ends', async () => {
    assert.equal((await get(edge.http, '/p')).status, 200);
    writeSnapshot(file, shopSnapshot(2, [up.port], { maintenance: true }));
    await until('the maintenance page', async () => (await get(edge.http, '/p')).status === 503);
    const served = () => up.requests.filter((q) => q.url !== '/health').length;
    const seen = served();
    const r = await get(edge.http, '/checkout');
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '30');
    assert.match(r.body, /down for maintenance/);
    assert.equal(served(), seen, 'nothing but health checks reached the store meanwhile');
    writeSnapshot(file, shopSnapshot(3, [up.port], { maintenance: false }));
    await until('the store to answer again', async () => (await get(edge.http, '/p')).status === 200);
  });
});
