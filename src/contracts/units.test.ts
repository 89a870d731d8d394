import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Duration, formatSizeShort, parseDuration, parseSize, Size } from './units.ts';

test('parses sizes in binary units', () => {
  const cases: [string, number | undefined][] = [
    ['256mb', 256 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['512k', 512 * 1024],
    ['10', undefined],
    ['lots', undefined],
    ['12 parsecs', undefined],
  ];
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
});

test('fails a size that is not a size, naming the value', () => {
  const r = Size.safeParse('lots');
  assert.equal(r.success, false);
  assert.equal(r.error?.issues[0]?.message, 'expected a size like "256mb", got "lots"');
  assert.equal(Size.safeParse('0mb').success, false);
});

test('parses durations', () => {
  assert.equal(parseDuration('300s'), 300_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('soon'), undefined);
  assert.equal(Duration.safeParse('1h').success, true);
});

test('formats sizes in the largest whole unit', () => {
  assert.equal(formatSizeShort(256 * 1024 ** 2), '256m');
  assert.equal(formatSizeShort(2 * 1024 ** 3), '2g');
  assert.equal(formatSizeShort(1536 * 1024 ** 2), '1536m');
  assert.equal(formatSizeShort(1000), '1000b');
});
