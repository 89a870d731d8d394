import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { ProcessExecutor, RecordingExecutor } from '../src/agent/executor.ts';
import { removeStoreUser } from '../src/agent/host/index.ts';
import { applyStack } from '../src/agent/stack/apply.ts';
import { prepareStoreUser } from '../src/agent/users.ts';
import { ContainerRole, ContainerStatus } from '../src/contracts/status.ts';
import { validateStack } from '../src/contracts/validate.ts';
import { ROOT, triplane, triplaneAsync } from './helpers.ts';
import { mainPid, podmanAs } from './podman.ts';

// The whole foundation on real rootless Podman: the README's start command, then the store's
// behaviour, self-healing, isolation and idempotency. Sequential: each step builds on the last.
const dataDir = mkdtempSync(join(tmpdir(), 'tp-system-'));
const DEMO = join(ROOT, 'examples/demo-store/triplane.yaml');
const ISO = join(ROOT, 'test/fixtures/iso/triplane.yaml');
let base = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function status(store?: string): ContainerStatus[] {
  const r = triplane(['status', '--json', '--data-dir', dataDir, ...(store ? [store] : [])]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as unknown[]).map((x) => ContainerStatus.parse(x));
}

// A session's requests each on a new connection: a POST is never retried, so one sent on a kept-alive
// connection the server has just closed (a test before killed the pod behind it) would fail.
const fresh = new Agent({ pipelining: 0 });

class Jar {
  cookie = '';
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookie) headers.set('cookie', this.cookie);
    const r = (await undiciFetch(base + path, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      headers,
      redirect: 'manual',
      dispatcher: fresh,
    })) as unknown as Response;
    const set = r.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0]!;
    return r;
  }
}

describe('a store on rootless Podman', { timeout: 40 * 60_000 }, () => {
  before(async () => {
    // A run that died earlier may have left the isolation test's store behind, with its volumes.
    await removeStoreUser(new ProcessExecutor(), 'iso');
    // The README's start command, with a data directory of the test's own.
    const r = triplane(['up', '--data-dir', dataDir], { timeoutMs: 30 * 60_000 });
    assert.equal(r.code, 0, `up failed:\n${r.stderr}`);
    const m =
      /store demo is up: http:\/\/demo\.localhost:8080\/ \(Varnish directly: (http:\/\/127\.0\.0\.1:\d+)\/\)/.exec(
        r.stdout,
      );
    assert.ok(m, r.stdout);
    base = m[1]!;
    // The control plane runs beside the store, with the first admin token in a file only root reads.
    const api = /API: (http:\/\/127\.0\.0\.1:7070)\/api \(admin token in (\S+)\)/.exec(r.stdout);
    assert.ok(api, r.stdout);
    assert.equal(api[2], join(dataDir, 'control', 'admin-token'));
    assert.equal(statSync(api[2]!).mode & 0o777, 0o600);
  });

  after(() => {
    triplane(['destroy', 'iso', '--yes', '--data-dir', dataDir], { timeoutMs: 300_000 });
    triplane(['down', '--data-dir', dataDir], { timeoutMs: 300_000 });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('serves a product page from PHP with MariaDB and Redis, then from Varnish', async () => {
    const jar = new Jar();
    // A purge first, so the first GET is a miss whatever earlier runs left in the cache.
    await fetch(`${base}/`, {
      method: 'PURGE',
      headers: { 'X-Magento-Tags-Pattern': '((^|,)cat_p_3(,|$))' },
    });
    const first = await jar.fetch('/product/3');
    const body = await first.text();
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-magento-cache-debug'), 'MISS');
    assert.match(body, /<meta name="x-served-by" content="php 8\.2\.\d+ host=demo-app-1 role=app store=demo/);
    assert.match(body, /data: mariadb/);
    assert.match(body, /data-product-id="3"/);
    assert.match(first.headers.get('x-fragment-cache') ?? '', /^(hit|miss)$/);
    assert.equal(first.headers.get('cache-control'), 'public, max-age=86400, s-maxage=86400');
    assert.equal(first.headers.get('x-magento-tags'), null, 'Varnish must not leak cache tags');
    const second = await jar.fetch('/product/3');
    assert.equal(second.headers.get('x-magento-cache-debug'), 'HIT');
    assert.equal(await second.text(), body, 'a hit returns the stored page');
    // The fragment comes from the Redis cache partition once it has been stored.
    const other = await jar.fetch('/product/4');
    assert.equal(other.headers.get('x-fragment-cache'), 'hit');
  });

  test('the edge serves the store at demo.localhost:8080 in front of Varnish', async () => {
    const { request } = await import('undici');
    const r = await request('http://127.0.0.1:8080/product/2', { headers: { host: 'demo.localhost:8080' } });
    const body = await r.body.text();
    assert.equal(r.statusCode, 200);
    assert.match(body, /data: mariadb/);
    assert.equal(r.headers.via, '1.1 triplane');
    assert.ok(r.headers['x-request-id']);
    const css = await request('http://127.0.0.1:8080/static/css/styles.css', {
      headers: { host: 'demo.localhost:8080' },
    });
    await css.body.dump();
    assert.equal(css.statusCode, 200);
    assert.match(String(css.headers['x-cache']), /^(MISS|HIT|STALE|REVALIDATED)$/);
  });

  test('the control plane knows the store: converged, with its Varnish and app pod as upstreams', async () => {
    const r = triplane([
      'status',
      'demo',
      '--control',
      'http://127.0.0.1:7070',
      '--json',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const st = JSON.parse(r.stdout) as { converged: boolean; upstreams: { role: string; port: number }[] };
    assert.equal(st.converged, true);
    assert.deepEqual(st.upstreams.map((u) => u.role).sort(), ['app', 'varnish']);
    assert.equal(`http://127.0.0.1:${st.upstreams.find((u) => u.role === 'varnish')!.port}`, base);
  });

  test('`triplane purge --tag cat_p_1` makes the product page a miss at Varnish and at the edge', async () => {
    const { request } = await import('undici');
    const viaEdge = async () => {
      const r = await request('http://127.0.0.1:8080/product/1', {
        headers: { host: 'demo.localhost:8080' },
        dispatcher: fresh,
      });
      await r.body.dump();
      return {
        status: r.statusCode,
        edge: r.headers['x-cache'],
        varnish: r.headers['x-magento-cache-debug'],
        tags: r.headers['x-magento-tags'],
      };
    };
    await viaEdge();
    const warm = await viaEdge();
    assert.deepEqual([warm.status, warm.edge, warm.tags], [200, 'HIT', undefined]);
    const purge = await triplaneAsync(['purge', 'demo', '--tag', 'cat_p_1', '--data-dir', dataDir]);
    assert.equal(purge.code, 0, purge.stderr);
    assert.deepEqual(await viaEdge(), { status: 200, edge: 'MISS', varnish: 'MISS', tags: undefined });
    assert.deepEqual(await viaEdge(), { status: 200, edge: 'HIT', varnish: 'MISS', tags: undefined });
  });

  test('a PURGE by tag makes the next GET a miss, and a product update purges its pages', async () => {
    await fetch(`${base}/product/5`);
    assert.equal((await fetch(`${base}/product/5`)).headers.get('x-magento-cache-debug'), 'HIT');
    const purge = await fetch(`${base}/`, {
      method: 'PURGE',
      headers: { 'X-Magento-Tags-Pattern': '((^|,)cat_p_5(,|$))' },
    });
    assert.equal(purge.status, 200);
    assert.equal((await fetch(`${base}/product/5`)).headers.get('x-magento-cache-debug'), 'MISS');
    assert.equal((await fetch(`${base}/product/5`)).headers.get('x-magento-cache-debug'), 'HIT');

    const price = `${10 + Math.floor(Math.random() * 80)}.${String(Math.floor(Math.random() * 100)).padStart(2, '0')}`;
    const upd = await fetch(`${base}/admin/product/5`, {
      method: 'POST',
      body: new URLSearchParams({ name: 'Compact Rain Shell', price }),
    });
    const json = (await upd.json()) as { ok: boolean; purged: number };
    assert.deepEqual([upd.status, json.ok, json.purged], [200, true, 200]);
    const after = await fetch(`${base}/product/5`);
    assert.equal(after.headers.get('x-magento-cache-debug'), 'MISS');
    assert.match(await after.text(), new RegExp(`data-price="${price.replace('.', '\\.')}"`));
  });

  test('a cart survives across requests in the Redis session partition', async () => {
    const jar = new Jar();
    const add = await jar.fetch('/cart/add', {
      method: 'POST',
      body: new URLSearchParams({ product_id: '2', qty: '3' }),
    });
    assert.equal(add.status, 200);
    assert.match(jar.cookie, /^PHPSESSID=/);
    await jar.fetch('/cart/add', {
      method: 'POST',
      body: new URLSearchParams({ product_id: '7', qty: '1' }),
    });
    const cart = (await (await jar.fetch('/cart', { headers: { accept: 'application/json' } })).json()) as {
      items: { product_id: number; qty: number }[];
      session_save_handler: string;
    };
    assert.equal(cart.session_save_handler, 'redis');
    assert.deepEqual(
      cart.items.map((i) => [i.product_id, i.qty]),
      [
        [2, 3],
        [7, 1],
      ],
    );
    const keys = podmanAs('demo', ['exec', 'demo-redis-session', 'redis-cli', '--scan', '--pattern', '*']);
    assert.match(
      keys.stdout,
      new RegExp(jar.cookie.split('=')[1]!),
      'the session lives in the session partition',
    );
  });

  test('an order reaches RabbitMQ and the cron job processes it', { timeout: 150_000 }, async () => {
    const jar = new Jar();
    await jar.fetch('/cart/add', {
      method: 'POST',
      body: new URLSearchParams({ product_id: '4', qty: '2' }),
    });
    const co = await jar.fetch('/checkout', { method: 'POST' });
    assert.equal(co.status, 201, await co.clone().text());
    const { order_id } = (await co.json()) as { order_id: number };
    const order = await until('the cron job to process the order', 130_000, async () => {
      const o = (await (await fetch(`${base}/order/${order_id}`)).json()) as {
        status: string;
        processed_at: string | null;
      };
      return o.status === 'processed' ? o : undefined;
    });
    assert.ok(order.processed_at);
  });

  test('every container runs as the store user, not root', () => {
    const rows = status('demo');
    const roles = new Set(rows.map((r) => r.role));
    // Every role but search, which the demo store runs without (OpenSearch is not packaged by Debian).
    for (const role of ContainerRole.options.filter((r) => r !== 'search')) {
      assert.ok(roles.has(role), `missing role ${role}`);
    }
    assert.equal(rows.filter((r) => r.role === 'cron').length, 1, 'exactly one cron runner');
    const uid = Number(spawnSync('id', ['-u', 'tp-demo'], { encoding: 'utf8' }).stdout);
    for (const r of rows) {
      assert.equal(r.user, 'tp-demo');
      assert.equal(r.state, 'running', `${r.name} is ${r.state}`);
      const pid = mainPid('demo', r.name);
      const owner = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)![1]);
      assert.notEqual(owner, 0, `${r.name} runs as root`);
      assert.ok(owner === uid || owner >= 100000, `${r.name} runs as uid ${owner}, outside tp-demo's ranges`);
    }
    assert.notEqual(podmanAs('demo', ['ps', '-q']).stdout.trim(), '');
    assert.equal(
      spawnSync('podman', ['ps', '-q', '--filter', 'label=triplane.store=demo'], {
        encoding: 'utf8',
      }).stdout.trim(),
      '',
      'root Podman sees none of them',
    );
  });

  test('kill -9 of the PHP-FPM main process: the store answers again within 5 s and status shows the restart', async () => {
    const before = status('demo').find((r) => r.name === 'demo-app-1-php')!.restarts;
    const pid = mainPid('demo', 'demo-app-1-php');
    assert.ok(pid > 0);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    await until('the storefront to answer again', 5000, async () => {
      const r = await fetch(`${base}/cart`, { signal: AbortSignal.timeout(1000) });
      return r.status === 200 && mainPid('demo', 'demo-app-1-php') !== pid ? true : undefined;
    });
    const took = Date.now() - killedAt;
    assert.ok(took <= 5000, `took ${took} ms`);
    assert.equal(status('demo').find((r) => r.name === 'demo-app-1-php')!.restarts, before + 1);
  });

  test('killing the MariaDB container loses no committed row', { timeout: 120_000 }, async () => {
    const jar = new Jar();
    await jar.fetch('/cart/add', {
      method: 'POST',
      body: new URLSearchParams({ product_id: '9', qty: '1' }),
    });
    const co = await jar.fetch('/checkout', { method: 'POST' });
    assert.equal(co.status, 201);
    const { order_id } = (await co.json()) as { order_id: number };
    process.kill(mainPid('demo', 'demo-database'), 'SIGKILL');
    const order = await until('the order to be readable after the database restart', 90_000, async () => {
      const r = await fetch(`${base}/order/${order_id}`);
      return r.status === 200 ? ((await r.json()) as { id: number }) : undefined;
    });
    assert.equal(order.id, order_id);
  });

  test('the supervisor starts a container that stayed stopped and restarts one whose checks hang', {
    timeout: 240_000,
  }, async () => {
    const restarts = (name: string) => status('demo').find((r) => r.name === name)!.restarts;
    const before = restarts('demo-redis-page');
    // An explicit stop is not undone by Podman's restart policy; only the supervisor brings it back.
    assert.equal(podmanAs('demo', ['stop', '--time', '1', 'demo-redis-page']).code, 0);
    await until('the supervisor to start redis-page', 60_000, async () => {
      const r = status('demo').find((c) => c.name === 'demo-redis-page')!;
      return r.state === 'running' ? r : undefined;
    });
    assert.equal(restarts('demo-redis-page'), before + 1);

    // A frozen process keeps its port open, so only a health check that times out can tell.
    const frozen = mainPid('demo', 'demo-redis-cache');
    const cacheBefore = restarts('demo-redis-cache');
    process.kill(frozen, 'SIGSTOP');
    try {
      await until('the supervisor to restart the frozen redis-cache', 180_000, async () =>
        mainPid('demo', 'demo-redis-cache') !== frozen &&
        status('demo').find((c) => c.name === 'demo-redis-cache')!.state === 'running'
          ? true
          : undefined,
      );
    } finally {
      try {
        process.kill(frozen, 'SIGCONT');
      } catch {
        // Already gone: the restart killed it, which is the point.
      }
    }
    assert.equal(restarts('demo-redis-cache'), cacheBefore + 1);
    const rec = JSON.parse(readFileSync(join(dataDir, 'stores/demo/supervisor.json'), 'utf8')) as {
      recent: { container: string; action: string; reason: string }[];
    };
    assert.deepEqual(
      rec.recent.slice(-2).map((e) => [e.container, e.action, e.reason]),
      [
        ['demo-redis-page', 'start', 'container stayed exited'],
        ['demo-redis-cache', 'restart', 'health check failed repeatedly'],
      ],
    );
  });

  test("two stores on one host cannot see each other's containers, volumes or networks", {
    timeout: 600_000,
  }, async () => {
    const r = await triplaneAsync(['up', '-f', ISO, '--data-dir', dataDir, '--skip-host'], {
      timeoutMs: 600_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const names = (store: string, args: string[]) =>
      podmanAs(store, args).stdout.trim().split('\n').filter(Boolean).sort();
    const isoContainers = names('iso', ['ps', '-a', '--format', '{{.Names}}']);
    assert.ok(isoContainers.length > 0);
    assert.ok(
      isoContainers.every((n) => n.startsWith('iso-')),
      isoContainers.join(' '),
    );
    assert.ok(names('demo', ['ps', '-a', '--format', '{{.Names}}']).every((n) => n.startsWith('demo-')));
    assert.deepEqual(names('iso', ['volume', 'ls', '--format', '{{.Name}}']), [
      'iso-database',
      'iso-media',
      'iso-redis-session',
    ]);
    assert.ok(!names('demo', ['volume', 'ls', '--format', '{{.Name}}']).some((n) => n.startsWith('iso')));
    assert.deepEqual(
      names('iso', ['network', 'ls', '--format', '{{.Name}}']).filter((n) => n !== 'podman'),
      ['iso-net'],
    );
    assert.equal(
      podmanAs('iso', ['inspect', 'demo-database']).code,
      125,
      'iso cannot inspect demo containers',
    );
    const peek = spawnSync('runuser', ['-u', 'tp-iso', '--', 'ls', '/home/tp-demo'], { encoding: 'utf8' });
    assert.notEqual(peek.status, 0, 'iso cannot read demo storage');
    assert.match(peek.stderr, /Permission denied/);
  });

  test('down removes containers but keeps volumes; up brings the same data back', {
    timeout: 600_000,
  }, async () => {
    // The second store's start-up just loaded the machine; Varnish may still count the app pod as
    // sick from a slow probe, and answers 503 until the next probe passes.
    await until('the storefront to answer', 60_000, async () =>
      (await fetch(`${base}/cart`)).status === 200 ? true : undefined,
    );
    const jar = new Jar();
    await jar.fetch('/cart/add', {
      method: 'POST',
      body: new URLSearchParams({ product_id: '11', qty: '1' }),
    });
    const co = await jar.fetch('/checkout', { method: 'POST' });
    const text = await co.text();
    assert.equal(co.status, 201, text.slice(0, 500));
    const { order_id } = JSON.parse(text) as { order_id: number };
    const down = await triplaneAsync(['down', 'demo', '--data-dir', dataDir], { timeoutMs: 300_000 });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(podmanAs('demo', ['ps', '-a', '-q']).stdout.trim(), '');
    assert.match(podmanAs('demo', ['volume', 'ls', '--format', '{{.Name}}']).stdout, /demo-database/);
    const up = await triplaneAsync(['up', '--data-dir', dataDir, '--skip-host'], { timeoutMs: 600_000 });
    assert.equal(up.code, 0, up.stderr);
    // Varnish is up before its first probe of the new app pod has passed: it answers 503 until then.
    const order = await until('the order to be served again', 60_000, async () => {
      const r = await fetch(`${base}/order/${order_id}`);
      return r.status === 200 ? ((await r.json()) as { id: number }) : undefined;
    });
    assert.equal(order.id, order_id);
  });

  test('destroy asks first, then removes the store, its volumes and its unix user', () => {
    const refused = triplane(['destroy', 'iso', '--data-dir', dataDir]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /pass --yes to confirm/);
    assert.equal(spawnSync('getent', ['passwd', 'tp-iso']).status, 0, 'nothing removed without confirmation');
    const r = triplane(['destroy', 'iso', '--yes', '--data-dir', dataDir], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(spawnSync('getent', ['passwd', 'tp-iso']).status, 2);
    assert.ok(!status().some((c) => c.store === 'iso'));
  });

  test('apply twice in a row changes nothing the second time', async () => {
    const text = readFileSync(DEMO, 'utf8');
    const { parse } = await import('yaml');
    const v = validateStack(parse(text));
    assert.ok(v.ok);
    const ex = new RecordingExecutor(new ProcessExecutor());
    const r = await applyStack({
      dataDir,
      executor: ex,
      spec: v.spec,
      source: DEMO,
      ensureUser: (s) => prepareStoreUser(ex, s),
    });
    assert.deepEqual(r.actions, []);
    const mutating = ex.log
      .map((c) => c.argv.join(' '))
      .filter(
        (a) =>
          !/podman (ps|pod ps|network ls|volume ls|secret ls|image inspect)\b|^(runuser -u tp-demo -- )?(getent|cat|stat|id|test -e|ps -o stat=) /.test(
            a,
          ),
      );
    assert.deepEqual(mutating, []);
    assert.ok(
      ex.log.some((c) => c.argv.includes('podman') && c.argv.includes('ps')),
      'the apply did look at the running containers',
    );
  });
});
