import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimit } from '../../contracts/snapshot.ts';
import { RateLimiter } from './ratelimit.ts';

const limit = (input: Partial<RateLimit> & Pick<RateLimit, 'ratePerSec' | 'burst'>): RateLimit =>
  RateLimit.parse({ class: 'default', ...input });

/** How many of `n` requests at the same instant pass. */
function passed(rl: RateLimiter, n: number, now: number, ip = '1.1.1.1', path = '/'): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (rl.take(ip, 'GET', path, now).ok) ok++;
  return ok;
}

describe('RateLimiter', () => {
  const rates = [
    { burst: 1, ratePerSec: 1 },
    { burst: 10, ratePerSec: 5 },
    { burst: 20, ratePerSec: 3 },
    { burst: 7, ratePerSec: 0.5 },
    { burst: 100, ratePerSec: 1000 },
  ];
  for (const r of rates) {
    it(`lets exactly ${r.burst} of ${r.burst + 5} simultaneous requests through at ${r.ratePerSec}/s`, () => {
      const rl = new RateLimiter([limit(r)]);
      assert.equal(passed(rl, r.burst + 5, 1000), r.burst);
    });

    it(`gives one token back ${1 / r.ratePerSec}s after an emptied burst of ${r.burst}`, () => {
      const rl = new RateLimiter([limit(r)]);
      const t0 = 5000;
      passed(rl, r.burst, t0);
      const interval = 1000 / r.ratePerSec;
      assert.equal(passed(rl, 1, t0 + interval - 0.01), 0, 'before the interval');
      assert.equal(passed(rl, 2, t0 + interval), 1, 'at the interval');
    });
  }

  it('sustains ratePerSec once the burst is spent', () => {
    const rl = new RateLimiter([limit({ burst: 5, ratePerSec: 4 })]);
    let ok = 0;
    // Ten requests every 50 ms for 10 s: 5 burst + 4/s × 10 s.
    for (let t = 0; t <= 10_000; t += 50) ok += passed(rl, 10, t);
    assert.equal(ok, 5 + 40);
  });

  it('refills to burst and no further after a long pause', () => {
    const rl = new RateLimiter([limit({ burst: 3, ratePerSec: 1 })]);
    passed(rl, 3, 0);
    assert.equal(passed(rl, 10, 3_600_000), 3);
  });

  it('tells a refused client when the next token comes', () => {
    const rl = new RateLimiter([limit({ class: 'checkout', burst: 2, ratePerSec: 0.25 })]);
    passed(rl, 2, 0);
    assert.deepEqual(rl.take('1.1.1.1', 'GET', '/', 1000), {
      ok: false,
      class: 'checkout',
      retryAfterSec: 3,
    });
  });

  it('does not spend tokens on refused requests', () => {
    const rl = new RateLimiter([limit({ burst: 1, ratePerSec: 1 })]);
    passed(rl, 1, 0);
    passed(rl, 50, 500);
    assert.equal(passed(rl, 1, 1000), 1);
  });

  describe('route classes', () => {
    const limits = [
      limit({
        class: 'checkout',
        pathPrefixes: ['/checkout', '/cart'],
        methods: ['post'],
        burst: 1,
        ratePerSec: 1,
      }),
      limit({ class: 'api', pathPrefixes: ['/rest/'], burst: 2, ratePerSec: 1 }),
      limit({ class: 'default', burst: 3, ratePerSec: 1 }),
    ];
    const cases = [
      {
        name: 'a matching method and prefix picks the class',
        method: 'POST',
        path: '/checkout/pay',
        want: 'checkout',
        burst: 1,
      },
      {
        name: 'any listed prefix picks the class',
        method: 'POST',
        path: '/cart/add',
        want: 'checkout',
        burst: 1,
      },
      {
        name: 'another method falls through to a later class',
        method: 'GET',
        path: '/checkout',
        want: 'default',
        burst: 3,
      },
      {
        name: 'a class without methods takes every method',
        method: 'DELETE',
        path: '/rest/V1/x',
        want: 'api',
        burst: 2,
      },
      {
        name: 'a class without prefixes takes every path',
        method: 'GET',
        path: '/anything',
        want: 'default',
        burst: 3,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const rl = new RateLimiter(limits);
        for (let i = 0; i < c.burst; i++) assert.equal(rl.take('1.1.1.1', c.method, c.path, 0).ok, true);
        const r = rl.take('1.1.1.1', c.method, c.path, 0);
        assert.equal(r.ok ? null : r.class, c.want);
      });
    }

    it('lets the first matching class win', () => {
      const rl = new RateLimiter([
        limit({ class: 'first', pathPrefixes: ['/a'], burst: 1, ratePerSec: 1 }),
        limit({ class: 'second', pathPrefixes: ['/a/b'], burst: 9, ratePerSec: 1 }),
      ]);
      rl.take('1.1.1.1', 'GET', '/a/b', 0);
      assert.deepEqual(rl.take('1.1.1.1', 'GET', '/a/b', 0), { ok: false, class: 'first', retryAfterSec: 1 });
    });

    it('keeps separate buckets per class', () => {
      const rl = new RateLimiter(limits);
      passed(rl, 3, 0, '1.1.1.1', '/');
      assert.equal(passed(rl, 5, 0, '1.1.1.1', '/rest/x'), 2);
    });

    it('passes every request that belongs to no class', () => {
      const rl = new RateLimiter([limit({ pathPrefixes: ['/checkout'], burst: 1, ratePerSec: 1 })]);
      assert.equal(passed(rl, 1000, 0, '1.1.1.1', '/static/x.css'), 1000);
      assert.deepEqual(rl.stats(), { keys: 0 });
    });
  });

  describe('clients', () => {
    it('keeps one bucket per client IP', () => {
      const rl = new RateLimiter([limit({ burst: 2, ratePerSec: 1 })]);
      assert.equal(passed(rl, 5, 0, '1.1.1.1'), 2);
      assert.equal(passed(rl, 5, 0, '2.2.2.2'), 2);
      assert.equal(passed(rl, 5, 0, '2001:db8::1'), 2);
    });

    it('shares a bucket between an IPv4 client and its IPv4-mapped form', () => {
      const rl = new RateLimiter([limit({ burst: 2, ratePerSec: 1 })]);
      passed(rl, 2, 0, '1.1.1.1');
      assert.equal(passed(rl, 1, 0, '::ffff:1.1.1.1'), 0);
    });

    it('tracks no more clients than maxKeys, forgetting the least recently seen', () => {
      const rl = new RateLimiter([limit({ burst: 1, ratePerSec: 0.001 })], { maxKeys: 3 });
      for (const ip of ['1.0.0.1', '1.0.0.2', '1.0.0.3']) passed(rl, 1, 0, ip);
      // Seen again (and refused), so 1.0.0.2 is now the least recently seen.
      assert.equal(passed(rl, 1, 1, '1.0.0.1'), 0);
      passed(rl, 1, 2, '1.0.0.4');
      assert.deepEqual(rl.stats(), { keys: 3 });
      assert.equal(passed(rl, 1, 3, '1.0.0.1'), 0, 'recently seen client keeps its empty bucket');
      assert.equal(passed(rl, 1, 3, '1.0.0.2'), 1, 'evicted client starts with a full bucket');
    });

    it('drops buckets that are full again when new clients arrive', () => {
      const rl = new RateLimiter([limit({ burst: 2, ratePerSec: 1 })]);
      for (let i = 0; i < 10; i++) passed(rl, 1, 0, `10.0.0.${i}`);
      assert.deepEqual(rl.stats(), { keys: 10 });
      // One second later every bucket is full; each new client clears up to two old ones.
      for (let i = 0; i < 5; i++) passed(rl, 1, 1000, `10.0.1.${i}`);
      assert.deepEqual(rl.stats(), { keys: 5 });
    });
  });

  it('uses the injected clock when take is given no time', () => {
    let now = 0;
    const rl = new RateLimiter([limit({ burst: 1, ratePerSec: 1 })], { now: () => now });
    assert.equal(rl.take('1.1.1.1', 'GET', '/').ok, true);
    assert.equal(rl.take('1.1.1.1', 'GET', '/').ok, false);
    now = 1000;
    assert.equal(rl.take('1.1.1.1', 'GET', '/').ok, true);
  });
});
