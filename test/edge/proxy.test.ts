import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { EdgeProcess, get, load, shopSnapshot, Upstream, until, writeSnapshot } from './harness.ts';

// The edge as a real process (primary + 2 workers) in front of real HTTP servers on loopback.
const a = new Upstream();
const b = new Upstream();
let edge: EdgeProcess;
let snapFile = '';

/** Sends raw bytes and returns everything the edge answered until it closed (or 3 s passed). */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d;
    });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.setTimeout(3000, () => s.destroy());
    s.write(bytes);
  });
}

describe('edge proxy', { timeout: 300_000 }, () => {
  before(async () => {
    await a.start();
    await b.start();
    edge = new EdgeProcess([]);
    snapFile = join(edge.dataDir, 'snapshot.json');
    writeSnapshot(snapFile, shopSnapshot(1, [a.port, b.port]));
    edge.args.push('--snapshot', snapFile);
    await edge.start();
  });
  after(async () => {
    await edge.stop();
    edge.cleanup();
    await a.kill();
    await b.kill();
  });

  test('routes by host, adds X-Forwarded-For/-Proto and Via, and balances over both members', async () => {
    a.requests = [];
    b.requests = [];
    for (let i = 0; i < 20; i++) {
      const r = await get(edge.http, `/p/${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.via, '1.1 triplane');
    }
    // Active health checks reach the same servers; only the proxied requests matter here.
    const proxied = (u: Upstream) => u.requests.filter((r) => r.url?.startsWith('/p/'));
    assert.ok(
      proxied(a).length > 0 && proxied(b).length > 0,
      `a=${proxied(a).length} b=${proxied(b).length}`,
    );
    const seen = [...proxied(a), ...proxied(b)][0]!;
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers.via, '1.1 triplane');
    assert.equal(seen.headers.host, 'shop.localhost');
    assert.equal((await get(edge.http, '/', 'nobody.localhost')).status, 404);
  });

  test('serves HTTPS with the default certificate for *.localhost', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect(
        { port: edge.https, host: '127.0.0.1', servername: 'shop.localhost', rejectUnauthorized: false },
        () => {
          const cert = s.getPeerCertificate();
          assert.match(cert.subjectaltname ?? '', /DNS:\*\.localhost/);
          s.write('GET /tls HTTP/1.1\r\nHost: shop.localhost\r\nConnection: close\r\n\r\n');
        },
      );
      let out = '';
      s.on('data', (d) => {
        out += d;
      });
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.ok(
      [...a.requests, ...b.requests].some(
        (r) => r.url === '/tls' && r.headers['x-forwarded-proto'] === 'https',
      ),
    );
  });

  test('streams request and response bodies both ways', async () => {
    const handler = a.handler;
    a.handler = b.handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    };
    try {
      const payload = Buffer.alloc(5 * 1024 * 1024, 7);
      const r = await request(`http://127.0.0.1:${edge.http}/upload`, {
        method: 'POST',
        body: payload,
        headers: { host: 'shop.localhost' },
      });
      const echoed = Buffer.from(await r.body.arrayBuffer());
      assert.equal(r.statusCode, 200);
      assert.equal(echoed.length, payload.length);
      assert.ok(echoed.equals(payload));
    } finally {
      a.handler = b.handler = handler;
    }
  });

  test('passes a WebSocket upgrade through and splices the connection', async () => {
    const onUpgrade = (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Seen-Upgrade: ${req.headers.upgrade}\r\n\r\n`,
      );
      socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    };
    a.server!.on('upgrade', onUpgrade);
    b.server!.on('upgrade', onUpgrade);
    const reply = await new Promise<string>((resolve) => {
      const s = connect(edge.http, '127.0.0.1', () => {
        s.write(
          'GET /ws HTTP/1.1\r\nHost: shop.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
      });
      let out = '';
      s.on('data', (d) => {
        out += d;
        if (out.includes('\r\n\r\n') && !out.includes('echo:')) s.write('ping');
        if (out.includes('echo:ping')) {
          s.destroy();
          resolve(out);
        }
      });
      s.setTimeout(5000, () => {
        s.destroy();
        resolve(out);
      });
    });
    assert.match(reply, /^HTTP\/1\.1 101 Switching Protocols/);
    assert.match(reply, /X-Seen-Upgrade: websocket/);
    assert.match(reply, /echo:ping/);
  });

  test('rejects smuggling and malformed requests with 400/431/413 before they reach a member, and keeps serving', async () => {
    const long = 'x'.repeat(20 * 1024);
    const many = Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const cases: [string, string, RegExp][] = [
      [
        'CL and TE together',
        'POST /s HTTP/1.1\r\nHost: shop.localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        /^HTTP\/1\.1 400/,
      ],
      [
        'two different Content-Lengths',
        'POST /s HTTP/1.1\r\nHost: shop.localhost\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
        /^HTTP\/1\.1 400/,
      ],
      [
        'a non-numeric Content-Length',
        'POST /s HTTP/1.1\r\nHost: shop.localhost\r\nContent-Length: 4x\r\n\r\nabcd',
        /^HTTP\/1\.1 400/,
      ],
      [
        'a negative Content-Length',
        'POST /s HTTP/1.1\r\nHost: shop.localhost\r\nContent-Length: -1\r\n\r\n',
        /^HTTP\/1\.1 400/,
      ],
      [
        'an obfuscated Transfer-Encoding',
        'POST /s HTTP/1.1\r\nHost: shop.localhost\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
        /^HTTP\/1\.1 400/,
      ],
      [
        'Transfer-Encoding with a space before the colon',
        'POST /s HTTP/1.1\r\nHost: shop.localhost\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
        /^HTTP\/1\.1 400/,
      ],
      [
        'a bad chunk size',
        'POST /s HTTP/1.1\r\nHost: shop.localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
        /^HTTP\/1\.1 400/,
      ],
      [
        'a control character in a header value',
        'GET /s HTTP/1.1\r\nHost: shop.localhost\r\nX-Bad: a\x01b\r\n\r\n',
        /^HTTP\/1\.1 400/,
      ],
      [
        'a space in a header name',
        'GET /s HTTP/1.1\r\nHost: shop.localhost\r\nX Bad: v\r\n\r\n',
        /^HTTP\/1\.1 400/,
      ],
      ['a bare LF line ending', 'GET /s HTTP/1.1\nHost: shop.localhost\n\n', /^HTTP\/1\.1 400/],
      ['an invalid method token', 'G(T /s HTTP/1.1\r\nHost: shop.localhost\r\n\r\n', /^HTTP\/1\.1 400/],
      ['an invalid HTTP version', 'GET /s HTTP/9.9\r\nHost: shop.localhost\r\n\r\n', /^HTTP\/1\.1 (400|505)/],
      [
        'oversized headers',
        `GET /s HTTP/1.1\r\nHost: shop.localhost\r\nX-Long: ${long}\r\n\r\n`,
        /^HTTP\/1\.1 431/,
      ],
      ['too many header fields', `GET /s HTTP/1.1\r\nHost: shop.localhost\r\n${many}\r\n`, /^HTTP\/1\.1 431/],
      [
        'a body over the store limit',
        'POST /s HTTP/1.1\r\nHost: shop.localhost\r\nContent-Length: 999999999999\r\n\r\n',
        /^HTTP\/1\.1 413/,
      ],
    ];
    a.requests = [];
    b.requests = [];
    for (const [name, bytes, want] of cases) {
      const out = await raw(edge.http, bytes);
      assert.match(out, want, `${name}: got ${JSON.stringify(out.slice(0, 60))}`);
    }
    assert.deepEqual(
      [...a.requests, ...b.requests].map((r) => r.url).filter((u) => u !== '/health'),
      [],
      'no malformed request reached a member',
    );
    assert.equal((await get(edge.http, '/after')).status, 200);
    assert.ok((await edge.metric('triplane_edge_protocol_errors_total')) >= 12);
  });

  test('rejects a snapshot whose route names a missing pool and keeps serving the old one', async () => {
    const bad = shopSnapshot(2, [a.port, b.port]);
    (bad.routes as { pool: string }[])[0]!.pool = 'missing';
    writeSnapshot(snapFile, bad);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await edge.metric('triplane_edge_snapshot_rejected_total')) < 1) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await edge.metric('triplane_edge_snapshot_rejected_total'), 1);
    assert.equal(await edge.metric('triplane_edge_snapshot_version'), 1);
    const status = (await (await fetch(`http://127.0.0.1:${edge.metricsPort}/snapshot`)).json()) as {
      lastRejection?: { problems: { path: string; message: string }[] };
    };
    assert.deepEqual(
      status.lastRejection?.problems.map((p) => p.path),
      ['routes[0].pool'],
    );
    assert.match(edge.output, /routes\[0\]\.pool/);
    assert.equal((await get(edge.http, '/still')).status, 200);
    writeSnapshot(snapFile, shopSnapshot(3, [a.port, b.port]));
  });

  test('with one of two members killed under load, no GET fails', async () => {
    await new Promise((r) => setTimeout(r, 500));
    const { ok, failures, okAfter } = await load(edge.http, 4000, async (served) => {
      await until('10 requests served', async () => served() >= 10, 30_000);
      await b.kill();
    });
    assert.deepEqual(failures, []);
    // Served before and after the member went: a count, not a rate, so a slow machine passes.
    assert.ok(ok - okAfter >= 10 && okAfter >= 10, `${ok - okAfter} before, ${okAfter} after`);
    await b.start(b.port);
  });

  test('a rate limit of N/s lets exactly the burst through and answers the rest 429 with Retry-After', async () => {
    writeSnapshot(
      snapFile,
      shopSnapshot(4, [a.port, b.port], {
        rateLimits: [{ class: 'checkout', pathPrefixes: ['/checkout'], ratePerSec: 5, burst: 10 }],
      }),
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await edge.metric('triplane_edge_snapshot_version')) < 4)
      await new Promise((r) => setTimeout(r, 100));
    // 30 requests at once over 30 connections: the workers share nothing, so this only passes if all
    // of one client's connections meet the same bucket.
    const agent = new Agent({ connections: 30, pipelining: 0 });
    const results = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const r = await request(`http://127.0.0.1:${edge.http}/checkout`, {
          headers: { host: 'shop.localhost' },
          dispatcher: agent,
        });
        await r.body.dump();
        return { status: r.statusCode, retry: r.headers['retry-after'] };
      }),
    );
    await agent.close();
    assert.equal(results.filter((r) => r.status === 200).length, 10);
    assert.equal(results.filter((r) => r.status === 429).length, 20);
    assert.ok(results.filter((r) => r.status === 429).every((r) => Number(r.retry) >= 1));
    assert.equal((await get(edge.http, '/other')).status, 200, 'other route classes are not limited');
  });
});
