import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ApiClient, CliApiError } from './api-client.ts';
import { EXIT } from './output.ts';

/** A control plane on loopback that is busy for the first `busy` requests, then answers `[1]`. */
async function busyServer(t: { after(fn: () => Promise<void>): void }, busy: number) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (seen.length <= busy) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(
        JSON.stringify({
          code: 'TP_API_BUSY',
          message: 'too many analytics reads',
          details: { retryAfterSeconds: 1 },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('[1]');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

test('waits out a busy answer for the time it names and asks again', async (t) => {
  const s = await busyServer(t, 1);
  const client = new ApiClient({ url: s.url, token: 'tpt_x' });
  assert.deepEqual(await client.call('GET', '/api/stores/demo/events'), [1]);
  assert.deepEqual(s.seen, ['GET /api/stores/demo/events', 'GET /api/stores/demo/events']);
});

test('fails with TP_API_BUSY and the unavailable exit code once the wait would pass its limit', async (t) => {
  const s = await busyServer(t, 5);
  const client = new ApiClient({ url: s.url, token: 'tpt_x' }, 0);
  const e = await client.call('GET', '/api/audit').catch((x: unknown) => x);
  assert.ok(e instanceof CliApiError);
  assert.equal(e.code, 'TP_API_BUSY');
  assert.equal(e.exitCode, EXIT.unavailable);
  assert.equal(s.seen.length, 1);
});
