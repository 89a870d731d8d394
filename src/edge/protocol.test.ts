import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { framingProblem } from './protocol.ts';

const req = (rawHeaders: string[], httpVersion = '1.1') =>
  ({ rawHeaders, httpVersion }) as unknown as IncomingMessage;

test('refuses ambiguous framing that Node hands over before failing', () => {
  const cases: [string[], string | undefined][] = [
    [['Host', 'a'], undefined],
    [['Host', 'a', 'Transfer-Encoding', 'chunked'], undefined],
    [['Host', 'a', 'Transfer-Encoding', 'Chunked '], undefined],
    [['Host', 'a', 'Transfer-Encoding', 'xchunked'], 'BAD_TRANSFER_ENCODING'],
    [['Host', 'a', 'Transfer-Encoding', 'gzip, chunked'], 'BAD_TRANSFER_ENCODING'],
    [['Host', 'a', 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'], 'BAD_TRANSFER_ENCODING'],
    [['Host', 'a', 'Transfer-Encoding', 'chunked', 'Content-Length', '3'], 'CL_AND_TE'],
    [[], 'BAD_HOST'],
    [['Host', 'a', 'host', 'b'], 'BAD_HOST'],
  ];
  for (const [headers, code] of cases)
    assert.equal(framingProblem(req(headers), 100)?.code, code, headers.join(' '));
});

test('allows HTTP/1.0 without Host', () => {
  assert.equal(framingProblem(req([], '1.0'), 100), undefined);
});

test('answers 431 to more header fields than allowed', () => {
  const many = Array.from({ length: 11 }, (_, i) => [`X-${i}`, 'v']).flat();
  assert.deepEqual(framingProblem(req(['Host', 'a', ...many]), 10), {
    status: 431,
    code: 'TOO_MANY_HEADERS',
  });
});
