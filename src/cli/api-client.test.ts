import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ApiClient, CliApiError } from './api-client.ts';
import { EXIT } from './output.ts';

const BUSY = { status: 429, code: 'TP_API_BUSY', message: 'too many analytics reads', retry: true };

/**
 * A control plane on loopback that answers the first `busy` requests with `answer` (429 busy by
 * default), naming a retry after 1 s if `answer.retry`, then answers `[1]`.
 */
async function busyServer(t: { after(fn: () => Promise<void>): void }, busy: number, answer = BUSY) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (seen.length <= busy) {
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        ...(answer.retry ? { 'retry-after': '1' } : {}),
      });
      res.end(
        JSON.stringify({
          code: answer.code,
          message: answer.message,
          details: answer.retry ? { retryAfterSeconds: 1 } : {},
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

test("a read's 503 that names a retry time is waited out; one that names none, or a change's, is not", async (t) => {
  const starting = {
    status: 503,
    code: 'TP_API_UNAVAILABLE',
    message: 'the analytics reader exited',
    retry: true,
  };
  const s = await busyServer(t, 1, starting);
  const client = new ApiClient({ url: s.url, token: 'tpt_x' });
  assert.deepEqual(await client.call('GET', '/api/stores/demo/requests'), [1]);
  assert.equal(s.seen.length, 2);

  const noPurger = { ...starting, message: 'this control plane cannot purge caches', retry: false };
  const p = await busyServer(t, 1, noPurger);
  const e = await new ApiClient({ url: p.url, token: 'tpt_x' })
    .call('GET', '/api/x')
    .catch((x: unknown) => x);
  assert.ok(e instanceof CliApiError);
  assert.equal(e.code, 'TP_API_UNAVAILABLE');
  assert.equal(p.seen.length, 1);

  const w = await busyServer(t, 1, starting);
  const post = await new ApiClient({ url: w.url, token: 'tpt_x' })
    .call('POST', '/api/stores/demo/purge', { tag: 'x' })
    .catch((x: unknown) => x);
  assert.ok(post instanceof CliApiError);
  assert.equal(post.code, 'TP_API_UNAVAILABLE');
  assert.equal(w.seen.length, 1);
});
