import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileSource, type FileSourceOptions, parseSnapshotText } from './file-source.ts';
import { recordingLog, snapshotInput, waitFor } from './testing.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** GIVEN a file source on `path`, started, with every delivery recorded. */
function given(path: string, o: FileSourceOptions = {}) {
  const got: { raw: unknown; origin: string }[] = [];
  const { log, records } = recordingLog();
  const source = new FileSource(path, { debounceMs: 20, pollIntervalMs: 100, log, ...o });
  source.start((raw, origin) => got.push({ raw, origin }));
  const versions = () => got.map((g) => (g.raw as { version: number }).version);
  return { source, got, versions, records };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tp-filesrc-'));
  dirs.push(d);
  return d;
}

test('delivers the JSON file at start, with its path as the origin', async () => {
  const path = join(tempDir(), 'snapshot.json');
  writeFileSync(path, JSON.stringify(snapshotInput(1)));
  const { source, got, versions } = given(path);
  await waitFor('first delivery', () => got.length === 1);
  assert.deepEqual(versions(), [1]);
  assert.equal(got[0]!.origin, `file:${path}`);
  await source.stop();
});

test('reads YAML when the file name ends in .yaml', async () => {
  const path = join(tempDir(), 'snapshot.yaml');
  writeFileSync(
    path,
    'version: 4\nroutes: []\npools:\n  - id: a\n    members: [{ host: 127.0.0.1, port: 80 }]\n',
  );
  const { source, got } = given(path);
  await waitFor('first delivery', () => got.length === 1);
  assert.deepEqual(got[0]!.raw, {
    version: 4,
    routes: [],
    pools: [{ id: 'a', members: [{ host: '127.0.0.1', port: 80 }] }],
  });
  await source.stop();
});

test('picks up a file replaced by an atomic rename, through the directory watch', async () => {
  const dir = tempDir();
  const path = join(dir, 'snapshot.json');
  writeFileSync(path, JSON.stringify(snapshotInput(1)));
  // The stat fallback is made too slow to matter, so only the watch can explain a quick delivery.
  const { source, versions } = given(path, { pollIntervalMs: 60_000 });
  await waitFor('first delivery', () => versions().length === 1);
  writeFileSync(join(dir, '.snapshot.json.tmp'), JSON.stringify(snapshotInput(2)));
  renameSync(join(dir, '.snapshot.json.tmp'), path);
  await waitFor('the replaced file', () => versions().at(-1) === 2, 2_000);
  // A second replacement proves the watch survived the first (a watch on the old inode would not).
  writeFileSync(join(dir, '.snapshot.json.tmp'), JSON.stringify(snapshotInput(3)));
  renameSync(join(dir, '.snapshot.json.tmp'), path);
  await waitFor('the second replacement', () => versions().at(-1) === 3, 2_000);
  assert.deepEqual(versions(), [1, 2, 3]);
  await source.stop();
});

test('picks up a file whose directory appears after start, through the stat fallback', async () => {
  const dir = join(tempDir(), 'later');
  const path = join(dir, 'snapshot.json');
  const { source, versions, records } = given(path);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(versions(), []);
  assert.equal(records.filter((r) => r.msg.includes('does not exist')).length, 1, 'reported once');
  mkdirSync(dir);
  writeFileSync(path, JSON.stringify(snapshotInput(5)));
  await waitFor('the new file', () => versions().length === 1, 2_000);
  assert.deepEqual(versions(), [5]);
  await source.stop();
});

test('does not deliver an unparsable file, reports it once, and delivers its fixed version', async () => {
  const path = join(tempDir(), 'snapshot.json');
  writeFileSync(path, '{"version": 1,');
  const { source, versions, records } = given(path);
  await waitFor('the read error', () => source.stats().readErrors === 1);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(source.stats().readErrors, 1, 'an unchanged broken file is not re-read on every tick');
  assert.equal(source.stats().lastError?.code, 'TP_EDGE_SNAPSHOT_FILE_UNREADABLE');
  assert.ok(records.some((r) => r.level === 'warn' && r.msg.includes('unreadable')));
  writeFileSync(path, JSON.stringify(snapshotInput(1)));
  await waitFor('the fixed file', () => versions().length === 1, 2_000);
  assert.equal(source.stats().delivered, 1);
  await source.stop();
});

test('delivers nothing after stop', async () => {
  const path = join(tempDir(), 'snapshot.json');
  writeFileSync(path, JSON.stringify(snapshotInput(1)));
  const { source, versions } = given(path);
  await waitFor('first delivery', () => versions().length === 1);
  await source.stop();
  writeFileSync(path, JSON.stringify(snapshotInput(2)));
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(versions(), [1]);
});

const texts = [
  { name: 'an empty file', path: 'a.json', text: ' \n', error: /a\.json is empty/ },
  { name: 'broken JSON', path: 'a.json', text: '{', error: /a\.json is not JSON/ },
  { name: 'broken YAML', path: 'a.yml', text: 'a: [', error: /a\.yml is not YAML/ },
];
for (const c of texts) {
  test(`fails ${c.name} with TP_EDGE_SNAPSHOT_FILE_UNREADABLE`, () => {
    assert.throws(() => parseSnapshotText(c.path, c.text), {
      code: 'TP_EDGE_SNAPSHOT_FILE_UNREADABLE',
      message: c.error,
    });
  });
}
