import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EdgeProcess, get, shopSnapshot, Upstream, until, writeSnapshot } from './harness.ts';

/** Which upstream answered a GET, by the port it puts in `x-upstream`. */
async function servedBy(edge: EdgeProcess): Promise<string> {
  const r = await get(edge.http, '/p');
  return r.status === 200 ? String(r.headers['x-upstream']) : `HTTP ${r.status}`;
}

describe("a route's fallback pool (a store's app pods behind its Varnish)", { timeout: 120_000 }, () => {
  const varnish = new Upstream();
  const app = new Upstream();
  let edge: EdgeProcess;

  before(async () => {
    await varnish.start();
    await app.start();
    const snap = shopSnapshot(1, [varnish.port]);
    const pool = (snap.pools as Record<string, unknown>[])[0]!;
    // A killed upstream refuses connections, which fails a check at once; the long timeout only keeps
    // a machine that stalls for half a second from marking both pools down while both are up.
    pool.healthCheck = { ...(pool.healthCheck as object), timeoutMs: 5000 };
    (snap.pools as unknown[]).push({
      ...pool,
      id: 'shop-app',
      members: [{ host: '127.0.0.1', port: app.port }],
    });
    (snap.routes as Record<string, unknown>[])[0]!.fallbackPool = 'shop-app';
    edge = new EdgeProcess([]);
    const file = join(edge.dataDir, 'snapshot.json');
    writeSnapshot(file, snap);
    edge.args.push('--snapshot', file);
    await edge.start();
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    await varnish.kill();
    await app.kill();
  });

  test('serves through the main pool while it is up, through the fallback while it is down, and back', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await servedBy(edge), String(varnish.port));
    assert.equal(app.requests.filter((r) => r.url === '/p').length, 0, 'the fallback is idle meanwhile');
    await varnish.kill();
    await until('the fallback to answer', async () => (await servedBy(edge)) === String(app.port));
    for (let i = 0; i < 5; i++) assert.equal(await servedBy(edge), String(app.port));
    await varnish.start(varnish.port);
    await until('the main pool to answer again', async () => (await servedBy(edge)) === String(varnish.port));
  });
});
