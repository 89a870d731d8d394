import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EdgeCache } from './edge-cache.ts';
import { Clock, FakeUpstream, request, response, rules, text } from './testing.ts';

const RULES = rules();
const KB = 1000;
const ROOT = mkdtempSync(join(tmpdir(), 'tp-edge-cache-'));
after(() => rmSync(ROOT, { recursive: true, force: true }));

let dirs = 0;
/** A cache whose memory holds two 10 kB entries, over a fresh disk directory. */
function setup(maxDiskBytes = 1000 * KB, diskDir = join(ROOT, `d${++dirs}`)) {
  const cache = new EdgeCache({ maxBytes: 25 * KB, diskDir, maxDiskBytes, now: new Clock().now });
  return { cache, diskDir, files: () => readdirSync(diskDir).filter((n) => n.endsWith('.tpcache')) };
}

/** An upstream answering `body` padded to 10 kB. */
const tenKb = (body: string) =>
  new FakeUpstream(response(body.padEnd(10 * KB, '.'), { 'cache-control': 'max-age=600' }));

/** Caches the paths in order, letting each disk write finish as a disk that keeps up would. */
async function fill(cache: EdgeCache, paths: string[]) {
  for (const p of paths) {
    await cache.handle(request(p), RULES, tenKb(p).fetch);
    await cache.idle();
  }
}

test('moves entries evicted from memory to disk and reads them back on a hit', async () => {
  const { cache, files } = setup();
  await fill(cache, ['/static/a', '/static/b', '/static/c']);
  await cache.idle();
  assert.equal(files().length, 1);
  assert.deepEqual([cache.stats().entries, cache.stats().diskEntries], [3, 1]);
  assert.equal(cache.lookup(request('/static/a'), RULES), undefined, 'the fast path does not touch the disk');

  const upstream = tenKb('never fetched');
  const back = await cache.handle(request('/static/a'), RULES, upstream.fetch);
  assert.deepEqual([back.status, text(back.response).slice(0, 9)], ['HIT', '/static/a']);
  assert.equal(upstream.calls.length, 0);
  assert.ok(cache.lookup(request('/static/a'), RULES), 'promoted to memory');
  await cache.idle();
  // Promoting a pushed b, the least recently used, to disk; a's file is gone.
  assert.equal(files().length, 1);
  assert.deepEqual([cache.stats().entries, cache.stats().diskEntries, cache.stats().diskErrors], [3, 1, 0]);
  assert.equal(cache.lookup(request('/static/b'), RULES), undefined);
});

test('answers a hit on an entry still being written from memory, and deletes the file written', async () => {
  const { cache, files } = setup();
  await fill(cache, ['/static/a', '/static/b']);
  await cache.handle(request('/static/c'), RULES, tenKb('/static/c').fetch);
  assert.ok(cache.lookup(request('/static/a'), RULES), 'a is being written, its body still in memory');
  await cache.idle();
  assert.ok(cache.lookup(request('/static/a'), RULES), 'a stayed in memory');
  // b, evicted while a's write was pending, was dropped: with this small a budget one pending write is the cap.
  assert.deepEqual([files().length, cache.stats().diskEntries, cache.stats().entries], [0, 0, 2]);
});

test('drops entries evicted while pending writes exceed a quarter of the memory budget', async () => {
  const { cache, files } = setup();
  await fill(cache, ['/static/a', '/static/b']);
  await cache.handle(request('/static/c'), RULES, tenKb('/static/c').fetch);
  await cache.handle(request('/static/d'), RULES, tenKb('/static/d').fetch);
  await cache.idle();
  assert.deepEqual([files().length, cache.stats().evictions, cache.stats().entries], [1, 2, 3]);
});

test('drops the least recently used disk entries to stay within maxDiskBytes', async () => {
  const { cache, files } = setup(25 * KB);
  await fill(cache, ['/static/a', '/static/b', '/static/c', '/static/d', '/static/e']);
  await cache.idle();
  const s = cache.stats();
  assert.deepEqual([s.diskEntries, s.diskEvictions, files().length, s.entries], [2, 1, 2, 4]);
  assert.ok(s.diskBytes <= 25 * KB);
  const a = await cache.handle(request('/static/a'), RULES, tenKb('refetched').fetch);
  assert.equal(a.status, 'MISS');
});

test('deletes the file of a purged disk entry', async () => {
  const { cache, files } = setup();
  await fill(cache, ['/static/a', '/static/b', '/static/c']);
  await cache.idle();
  assert.equal(cache.purgeUrl('shop.test', '/static/a'), 1);
  await cache.idle();
  assert.deepEqual([files().length, cache.stats().diskEntries], [0, 0]);
});

test('counts a failing disk and keeps answering: evicted entries are just dropped', async () => {
  const blocker = join(ROOT, 'not-a-dir');
  writeFileSync(blocker, '');
  const { cache } = setup(1000 * KB, join(blocker, 'cache'));
  await fill(cache, ['/static/a', '/static/b', '/static/c', '/static/d']);
  await cache.idle();
  const s = cache.stats();
  assert.deepEqual([s.diskErrors, s.diskEntries, s.entries], [2, 0, 2]);
  const a = await cache.handle(request('/static/a'), RULES, tenKb('again').fetch);
  assert.deepEqual([a.status, text(a.response).slice(0, 5)], ['MISS', 'again']);
});

test('treats a body file that vanished as a miss and counts the error', async () => {
  const { cache, diskDir, files } = setup();
  await fill(cache, ['/static/a', '/static/b', '/static/c']);
  await cache.idle();
  unlinkSync(join(diskDir, files()[0]!));
  const a = await cache.handle(request('/static/a'), RULES, tenKb('refetched').fetch);
  assert.deepEqual([a.status, text(a.response).slice(0, 9)], ['MISS', 'refetched']);
  assert.equal(cache.stats().diskErrors, 1);
});

test('start deletes body files a previous process left; stop deletes its own', async () => {
  const { cache, diskDir, files } = setup();
  await cache.start();
  writeFileSync(join(diskDir, '99999-deadbeef-1.tpcache'), 'old');
  writeFileSync(join(diskDir, 'keep.txt'), 'not ours');
  await cache.start();
  assert.deepEqual(readdirSync(diskDir), ['keep.txt']);
  await fill(cache, ['/static/a', '/static/b', '/static/c', '/static/d']);
  await cache.idle();
  assert.equal(files().length, 2);
  await cache.stop();
  assert.deepEqual(readdirSync(diskDir), ['keep.txt']);
});
