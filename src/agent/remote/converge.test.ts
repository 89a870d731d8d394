import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentError } from '../errors.ts';
import { Converger } from './converge.ts';
import { type AppliedFile, readApplied } from './state.ts';
import { captureLog, desired, recordingApply, tempDirs, testUser } from './testing.ts';
import { FakePodman } from './testing-podman.ts';

/** A desired store whose spec says which version it is, so the applied specs can be told apart. */
const at = (store: string, v: number, sourceDir: string) =>
  desired(store, v, sourceDir, { app: { code: './app', env: { V: String(v) } } });

function setup(applied: AppliedFile = {}, delayMs = 30) {
  const dirs = tempDirs();
  const rec = recordingApply(dirs.home, delayMs);
  const { log, records } = captureLog();
  const appliedEvents: string[] = [];
  const c = new Converger(
    {
      dataDir: dirs.dataDir,
      executor: new FakePodman(),
      log,
      apply: rec.apply,
      ensureUser: async (s) => testUser(s, dirs.home),
      exclusive: (fn) => fn(),
      onApplied: (store, r) => appliedEvents.push(`${store}:${r ? 'ok' : 'failed'}`),
      retry: { initialMs: 50, maxMs: 50 },
    },
    applied,
  );
  const applies = () => rec.calls.map((x) => `${x.store}@${x.spec.app.env.V}`);
  return { c, rec, dirs, records, appliedEvents, applies };
}

const until = async (what: string, check: () => boolean, ms = 3_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('applies a new version once, with the stack file in sourceDir, and records it in applied.json', async () => {
  const { c, rec, dirs, appliedEvents } = setup();
  c.start();
  c.setDesired([at('shop', 1, dirs.sourceDir)]);
  await until('the apply', () => appliedEvents.length === 1);
  c.setDesired([at('shop', 1, dirs.sourceDir)]);
  await new Promise((r) => setTimeout(r, 80));
  await c.stop();
  assert.equal(rec.calls.length, 1);
  assert.equal(rec.calls[0]!.source, join(dirs.sourceDir, 'triplane.yaml'));
  assert.equal(readApplied(dirs.dataDir).shop?.stackVersion, 1);
  assert.equal(readApplied(dirs.dataDir).shop?.environment, 'production');
  assert.deepEqual(appliedEvents, ['shop:ok']);
});

test('applies a version that arrives mid-apply right after, never two applies at once', async () => {
  const { c, rec, dirs, applies } = setup({}, 60);
  c.start();
  c.setDesired([at('a', 1, dirs.sourceDir)]);
  await until('the first apply to start', () => rec.calls.length === 1);
  c.setDesired([at('a', 2, dirs.sourceDir), at('b', 1, dirs.sourceDir)]);
  await until(
    'three applies',
    () => c.appliedStores().b !== undefined && c.appliedStores().a?.stackVersion === 2,
  );
  await c.stop();
  assert.deepEqual(applies(), ['a@1', 'a@2', 'b@1']);
  assert.equal(rec.maxRunning(), 1);
});

test('skips a version that was superseded before its turn', async () => {
  const { c, rec, dirs, applies } = setup({}, 60);
  c.start();
  c.setDesired([at('a', 1, dirs.sourceDir)]);
  await until('the first apply to start', () => rec.calls.length === 1);
  c.setDesired([at('a', 2, dirs.sourceDir)]);
  c.setDesired([at('a', 3, dirs.sourceDir)]);
  await until('version 3', () => c.appliedStores().a?.stackVersion === 3);
  await c.stop();
  assert.deepEqual(applies(), ['a@1', 'a@3']);
});

test('does not apply a version applied.json already records', async () => {
  const { c, rec, dirs } = setup({
    shop: { stackVersion: 4, environment: 'production', appliedAt: new Date().toISOString() },
  });
  c.start();
  c.setDesired([at('shop', 4, dirs.sourceDir)]);
  await new Promise((r) => setTimeout(r, 80));
  await c.stop();
  assert.equal(rec.calls.length, 0);
});

test('keeps a failed apply coded error and retries it with backoff until it succeeds', async () => {
  const { c, rec, dirs, appliedEvents } = setup({}, 0);
  let failures = 2;
  rec.failWith(() =>
    failures-- > 0
      ? new AgentError('TP_STORE_BUSY', 'store shop: another triplane process is working on it')
      : undefined,
  );
  c.start();
  c.setDesired([at('shop', 1, dirs.sourceDir)]);
  await until('the first failure', () => appliedEvents.length === 1);
  assert.equal(c.lastError('shop'), 'TP_STORE_BUSY: store shop: another triplane process is working on it');
  assert.equal(readApplied(dirs.dataDir).shop, undefined);
  await until('the retry to succeed', () => appliedEvents.length === 3);
  await c.stop();
  assert.deepEqual(appliedEvents, ['shop:failed', 'shop:failed', 'shop:ok']);
  // Backoff: the retries did not follow the failures at once.
  const [t0, t1, t2] = rec.calls.map((x) => x.started);
  assert.ok(t1! - t0! >= 35 && t2! - t1! >= 35, `retries came after ${t1! - t0!} and ${t2! - t1!} ms`);
  assert.equal(c.lastError('shop'), null);
  assert.deepEqual(c.stats(), { applies: 3, applyFailures: 2, applying: null });
});

test('leaves a store that is no longer desired running, and says so once', async () => {
  const { c, rec, dirs, records } = setup({
    old: { stackVersion: 2, environment: 'staging', appliedAt: new Date().toISOString() },
  });
  c.start();
  c.setDesired([at('shop', 1, dirs.sourceDir)]);
  c.setDesired([at('shop', 1, dirs.sourceDir)]);
  await until('the apply', () => c.appliedStores().shop !== undefined);
  await c.stop();
  assert.deepEqual(
    rec.calls.map((x) => x.store),
    ['shop'],
  );
  assert.ok(c.appliedStores().old, 'the old store stays recorded as applied');
  const notes = records.filter((r) => String(r.msg).startsWith('store is no longer desired'));
  assert.deepEqual(
    notes.map((r) => r.store),
    ['old'],
  );
});
