import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { AccessLogError } from './errors.ts';
import { FileSink } from './file-sink.ts';
import { HttpSink } from './http-sink.ts';
import { toNdjson } from './sink.ts';
import { records, tempDir } from './testing.ts';

type Seen = { method?: string; path?: string; type?: string; auth?: string; body: string };

/** An intake on 127.0.0.1 that answers with `handler` and remembers the last request. */
async function intake(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen = { body: '' };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      Object.assign(seen, {
        method: req.method,
        path: req.url,
        type: req.headers['content-type'],
        auth: req.headers.authorization,
        body,
      });
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/edge/access-log`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('posts a batch as NDJSON with the bearer token and resolves on 2xx', async () => {
  const srv = await intake((_, res) => res.writeHead(204).end());
  const sink = new HttpSink(srv.url, { token: 's3cret', timeoutMs: 2000 });
  try {
    await sink.send(records(0, 3));
    assert.deepEqual(srv.seen, {
      method: 'POST',
      path: '/api/edge/access-log',
      type: 'application/x-ndjson',
      auth: 'Bearer s3cret',
      body: toNdjson(records(0, 3)),
    });
  } finally {
    await sink.close();
    await srv.close();
  }
});

test('fails with a code that says whether the intake may take the batch later', async (t) => {
  const cases = [
    { status: 503, code: 'TP_ACCESSLOG_SINK_STATUS', retryable: true },
    { status: 401, code: 'TP_ACCESSLOG_SINK_STATUS', retryable: true },
    { status: 400, code: 'TP_ACCESSLOG_SINK_REJECTED', retryable: false },
    { status: 413, code: 'TP_ACCESSLOG_SINK_REJECTED', retryable: false },
  ];
  for (const c of cases) {
    await t.test(`status ${c.status}`, async () => {
      const srv = await intake((_, res) => res.writeHead(c.status).end('nope'));
      const sink = new HttpSink(srv.url);
      try {
        await assert.rejects(sink.send(records(0, 1)), (e: unknown) => {
          assert.ok(e instanceof AccessLogError);
          assert.equal(e.code, c.code);
          assert.equal(e.retryable, c.retryable);
          assert.match(e.message, new RegExp(`intake answered ${c.status}: nope$`));
          return true;
        });
      } finally {
        await sink.close();
        await srv.close();
      }
    });
  }
});

test('fails with TP_ACCESSLOG_SINK_FAILED when nothing listens', async () => {
  const srv = await intake((_, res) => res.end());
  await srv.close();
  const sink = new HttpSink(srv.url);
  try {
    await assert.rejects(sink.send(records(0, 1)), { code: 'TP_ACCESSLOG_SINK_FAILED' });
  } finally {
    await sink.close();
  }
});

test('fails with TP_ACCESSLOG_SEND_TIMEOUT when the intake never answers', async () => {
  const srv = await intake(() => {});
  const sink = new HttpSink(srv.url, { timeoutMs: 100 });
  try {
    const t0 = Date.now();
    await assert.rejects(sink.send(records(0, 1)), { code: 'TP_ACCESSLOG_SEND_TIMEOUT' });
    assert.ok(Date.now() - t0 < 1000, 'the timeout bounds the request');
  } finally {
    await sink.close();
    await srv.close();
  }
});

test('fails a sink URL that is not http(s), and a bad timeout, in one error', () => {
  assert.throws(
    () => new HttpSink('ftp://127.0.0.1/x', { timeoutMs: 0 }),
    (e: unknown) => {
      assert.ok(e instanceof AccessLogError);
      assert.equal(e.code, 'TP_ACCESSLOG_INVALID_OPTIONS');
      assert.deepEqual(e.details.problems, [
        'url: expected an http or https URL, got "ftp://127.0.0.1/x"',
        'timeoutMs: expected a positive integer, got 0',
      ]);
      return true;
    },
  );
});

test('file sink appends NDJSON lines batch after batch, creating the directory', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, 'logs', 'access.ndjson');
    const sink = new FileSink(path);
    await sink.send(records(0, 2));
    await sink.send(records(2, 3));
    assert.equal(await readFile(path, 'utf8'), toNdjson(records(0, 3)));
  } finally {
    await cleanup();
  }
});
