import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { readHead } from './forward.ts';

test('readHead reads at least what is asked and leaves the rest paused in the body', async () => {
  const body = Readable.from([Buffer.from('abcd'), Buffer.from('efgh'), Buffer.from('ijkl')], {
    objectMode: false,
  });
  const { chunks, complete } = await readHead(body, 6);
  assert.equal(Buffer.concat(chunks).toString(), 'abcdefgh');
  assert.equal(complete, false);
  assert.equal(body.isPaused(), true);
  const rest: Buffer[] = [];
  body.on('data', (c: Buffer) => rest.push(c));
  body.resume();
  await new Promise((r) => body.once('end', r));
  assert.equal(Buffer.concat(rest).toString(), 'ijkl');
});

test('readHead reports a body shorter than asked as complete', async () => {
  const { chunks, complete } = await readHead(Readable.from([Buffer.from('ok')]), 1024);
  assert.deepEqual([Buffer.concat(chunks).toString(), complete], ['ok', true]);
  const empty = await readHead(Readable.from([]), 10);
  assert.deepEqual([empty.chunks, empty.complete], [[], true]);
});

test('readHead fails when the member breaks off or closes the body early', async () => {
  const broken = new PassThrough();
  const read = readHead(broken, 100);
  broken.write('abc');
  broken.destroy(new Error('socket hang up'));
  await assert.rejects(read, /socket hang up/);
  const closed = new PassThrough();
  const early = readHead(closed, 100);
  closed.destroy();
  await assert.rejects(early, /closed early/);
});
