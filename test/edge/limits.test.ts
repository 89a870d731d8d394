import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EdgeProcess, shopSnapshot, Upstream, writeSnapshot } from './harness.ts';

/** A raw keep-alive connection that collects what the edge sends. */
class RawClient {
  readonly socket: Socket;
  text = '';
  closed = false;
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d) => {
      this.text += d;
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => {});
  }
  send(s: string): void {
    this.socket.write(s);
  }
  /** Waits until the text received matches, or fails after `ms`. */
  async until(re: RegExp, ms = 5000): Promise<string> {
    const end = Date.now() + ms;
    while (!re.test(this.text)) {
      if (Date.now() > end) assert.fail(`no ${re} within ${ms} ms; got ${JSON.stringify(this.text)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.text;
  }
}

const GET = 'GET /x HTTP/1.1\r\nHost: shop.localhost\r\n\r\n';

// A store's own limits from the snapshot: connections per client IP and the time a body may take.
describe('per-store connection and body limits', { timeout: 120_000 }, () => {
  const up = new Upstream();
  let edge: EdgeProcess;
  let completeBodies = 0;
  const clients: RawClient[] = [];
  const client = () => {
    const c = new RawClient(edge.http);
    clients.push(c);
    return c;
  };

  before(async () => {
    await up.start();
    up.handler = (req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/upload') completeBodies++;
        res.end('ok');
      });
    };
    edge = new EdgeProcess([]);
    const file = join(edge.dataDir, 'snapshot.json');
    writeSnapshot(
      file,
      shopSnapshot(1, [up.port], { limits: { maxConnectionsPerIp: 2, bodyTimeoutMs: 500 } }),
    );
    edge.args.push('--snapshot', file);
    await edge.start();
  });
  after(async () => {
    for (const c of clients) c.socket.destroy();
    await edge.stop();
    edge.cleanup();
    await up.kill();
  });

  test('a third connection from one IP gets 429 and is closed; a slot frees when one closes', async () => {
    const a = client();
    const b = client();
    a.send(GET);
    b.send(GET);
    await a.until(/^HTTP\/1\.1 200/);
    await b.until(/^HTTP\/1\.1 200/);
    const c = client();
    c.send(GET);
    const text = await c.until(/^HTTP\/1\.1 429/);
    assert.match(text, /retry-after: 1/i);
    assert.match(text, /connection: close/i);
    await c.until(/$/);
    for (let i = 0; i < 50 && !c.closed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(c.closed, 'the refused connection is closed');
    // The two admitted connections keep working.
    a.text = '';
    a.send(GET);
    await a.until(/^HTTP\/1\.1 200/);
    a.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const d = client();
    d.send(GET);
    await d.until(/^HTTP\/1\.1 200/);
    d.socket.destroy();
    b.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
  });

  test('a body slower than bodyTimeoutMs gets 408 and never reaches the member whole', async () => {
    const before = completeBodies;
    const c = client();
    const t0 = Date.now();
    c.send('POST /upload HTTP/1.1\r\nHost: shop.localhost\r\nContent-Length: 100\r\n\r\n0123456789');
    const text = await c.until(/^HTTP\/1\.1 408/, 3000);
    const took = Date.now() - t0;
    assert.ok(took >= 450 && took < 2000, `cut after ${took} ms`);
    assert.match(text, /connection: close/i);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(completeBodies, before, 'the member never got a complete body');
    // A body that arrives in time still goes through.
    const ok = client();
    ok.send('POST /upload HTTP/1.1\r\nHost: shop.localhost\r\nContent-Length: 10\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200));
    ok.send('0123456789');
    await ok.until(/^HTTP\/1\.1 200/);
    assert.equal(completeBodies, before + 1);
  });
});
