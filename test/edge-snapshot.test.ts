import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ControlSource } from '../src/edge/snapshot/control-source.ts';
import { lastKnownGoodPath } from '../src/edge/snapshot/last-known-good.ts';
import { SnapshotManager } from '../src/edge/snapshot/manager.ts';
import { recordingLog, snapshotInput, waitFor } from '../src/edge/snapshot/testing.ts';
import { TestingControlServer } from '../src/edge/snapshot/testing-control-server.ts';

const TOKEN = 'edge-token';

/** An edge as the proxy would run it: a manager over a control source, recording what it applied. */
function edge(dataDir: string, url: string) {
  const applied: number[] = [];
  const source = new ControlSource(url, {
    edgeId: 'edge-1',
    token: TOKEN,
    // Short delays keep the test quick; the doubling and the cap are tested beside the code.
    backoff: { initialMs: 50, maxMs: 300 },
  });
  const manager = new SnapshotManager({
    dataDir,
    source,
    log: recordingLog().log,
    onApply: (s) => {
      applied.push(s.version);
    },
  });
  return { manager, source, applied };
}

test('an edge follows the control plane, survives its outage, and restarts from disk while it is down', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-edge-snap-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dataDir, { recursive: true, force: true })];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  // GIVEN a control plane on 127.0.0.1 and an edge long-polling it
  const control = new TestingControlServer({ token: TOKEN });
  await control.start();
  const port = Number(new URL(control.url).port);
  cleanups.push(() => control.stop());
  const first = edge(dataDir, control.url);
  cleanups.push(() => first.manager.stop());
  await first.manager.start();

  // WHEN v1 is published THEN it is applied and acked
  control.publish(snapshotInput(1));
  await waitFor('v1 applied', () => first.manager.current()?.version === 1);

  // WHEN v2 is published while the edge's poll is held THEN the held poll delivers it at once
  await waitFor('a held poll', () => control.heldPolls === 1);
  const published = Date.now();
  control.publish(snapshotInput(2));
  await waitFor('v2 applied', () => first.manager.current()?.version === 2, 1_000);
  assert.ok(Date.now() - published < 1_000);
  await waitFor('acks for v1 and v2', () => control.acks.length === 2);
  assert.deepEqual(control.acks, [
    { edge: 'edge-1', version: 1, accepted: true },
    { edge: 'edge-1', version: 2, accepted: true },
  ]);

  // WHEN the control plane dies THEN the edge keeps v2, retries, and nothing throws
  await control.stop();
  await waitFor('failed polls', () => first.source.stats().consecutiveErrors >= 3);
  assert.equal(first.manager.current()?.version, 2);
  assert.equal(first.manager.stats().rejectedTotal, 0);

  // WHEN the edge restarts while the control plane is still down THEN it serves v2 from disk
  await first.manager.stop();
  const second = edge(dataDir, control.url);
  cleanups.push(() => second.manager.stop());
  await second.manager.start();
  assert.equal(second.manager.current()?.version, 2);
  assert.deepEqual(second.applied, [2]);
  assert.equal(second.manager.stats().origin, `disk:${lastKnownGoodPath(dataDir)}`);
  await waitFor('failed polls of the new edge', () => second.source.stats().consecutiveErrors >= 2);

  // WHEN the control plane comes back on the same address with v3 THEN the edge applies and saves it
  const back = new TestingControlServer({ token: TOKEN });
  back.publish(snapshotInput(3));
  await back.start(port);
  cleanups.push(() => back.stop());
  await waitFor('v3 applied', () => second.manager.current()?.version === 3, 3_000);
  await second.manager.idle(); // the save follows the swap
  assert.equal(JSON.parse(readFileSync(lastKnownGoodPath(dataDir), 'utf8')).version, 3);
  assert.equal(second.source.stats().consecutiveErrors, 0);

  // WHEN a snapshot whose route names a missing pool is published THEN the edge keeps v3 and says why
  back.publish(
    snapshotInput(4, { routes: [{ id: 'demo', store: 'demo', hosts: ['demo.localhost'], pool: 'nope' }] }),
  );
  await waitFor('the rejection ack', () => back.acks.length === 2);
  assert.deepEqual(back.acks, [
    { edge: 'edge-1', version: 3, accepted: true },
    {
      edge: 'edge-1',
      version: 4,
      accepted: false,
      problems: [{ path: 'routes[0].pool', message: 'route demo names unknown pool "nope"' }],
    },
  ]);
  assert.equal(second.manager.current()?.version, 3);
  assert.deepEqual(second.applied, [2, 3]);
  assert.equal(second.manager.stats().lastRejection?.version, 4);
  assert.ok(back.polls.every((p) => p.edge === 'edge-1' && p.authorization === `Bearer ${TOKEN}`));
  // The rejected v4 is not fetched again: the next poll waits for something newer.
  await waitFor('a held poll after v4', () => back.heldPolls === 1);
  assert.equal(back.polls.at(-1)?.after, 4);
});
