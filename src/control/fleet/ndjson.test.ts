import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAccessLogBatch } from './ndjson.ts';
import { logRecord } from './testing.ts';

const line = (o: object) => JSON.stringify(o);

test('parses NDJSON batches, ignoring blank lines and a trailing newline', () => {
  const table: [string, string, string[]][] = [
    ['empty body', '', []],
    ['one record, no newline', line(logRecord(1)), ['r-1']],
    [
      'two records, CRLF and blank lines',
      `${line(logRecord(1))}\r\n\n${line(logRecord(2))}\n`,
      ['r-1', 'r-2'],
    ],
  ];
  for (const [name, text, ids] of table)
    assert.deepEqual(
      parseAccessLogBatch(text).map((r) => r.requestId),
      ids,
      name,
    );
});

test('fails a batch with TP_API_INVALID naming every bad line and field', () => {
  const table: [string, string, { path: string; message: RegExp }[]][] = [
    ['not JSON', `${line(logRecord(1))}\n{"time":`, [{ path: 'line 2', message: /^not JSON: / }]],
    [
      'wrong types and a missing field',
      line({ ...logRecord(1), status: '200', bytesOut: -1, requestId: undefined }),
      [
        { path: 'line 1.status', message: /expected number/ },
        { path: 'line 1.bytesOut', message: />=0/ },
        { path: 'line 1.requestId', message: /expected string/ },
      ],
    ],
    ['an unknown field', line({ ...logRecord(1), extra: 1 }), [{ path: 'line 1', message: /"extra"/ }]],
    [
      'a time that is no timestamp',
      line({ ...logRecord(1), time: 'later' }),
      [{ path: 'line 1.time', message: /ISO/ }],
    ],
  ];
  for (const [name, text, expected] of table) {
    assert.throws(
      () => parseAccessLogBatch(text),
      (e: { code: string; details: { problems: { path: string; message: string }[] } }) => {
        assert.equal(e.code, 'TP_API_INVALID', name);
        const got = e.details.problems;
        assert.deepEqual(
          got.map((p) => p.path),
          expected.map((p) => p.path),
          name,
        );
        for (const [i, p] of expected.entries()) assert.match(got[i]!.message, p.message, name);
        return true;
      },
    );
  }
});

test('names the first five problems in the message and counts the rest', () => {
  const text = Array.from({ length: 7 }, () => '{').join('\n');
  assert.throws(() => parseAccessLogBatch(text), {
    message: /^access-log batch rejected: line 1: .*line 5: not JSON: .*; and 2 more$/,
  });
});
