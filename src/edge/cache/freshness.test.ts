import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCacheControl } from './cache-control.ts';
import { freshness } from './freshness.ts';
import { rules, T0 } from './testing.ts';

const at = (sec: number) => new Date(T0 + sec * 1000).toUTCString();
const TIMING = { requestTime: T0, responseTime: T0 };

function fresh(headers: Record<string, string | string[]>, status = 200, bodyLength = 10, overrides = {}) {
  const r = rules({ defaultTtlSec: 0, staleWhileRevalidateSec: 30, staleIfErrorSec: 300, ...overrides });
  return freshness(status, headers, parseCacheControl(headers['cache-control']), bodyLength, r, TIMING);
}

const LIFETIMES: [string, Record<string, string>, object, number][] = [
  ['max-age', { 'cache-control': 'max-age=60' }, {}, 60],
  ['s-maxage over max-age', { 'cache-control': 'max-age=60, s-maxage=600' }, {}, 600],
  ['max-age over Expires', { 'cache-control': 'max-age=60', expires: at(3600) }, {}, 60],
  ['Expires minus Date', { date: at(-100), expires: at(200) }, {}, 300],
  ['Expires minus the arrival time without Date', { expires: at(120) }, {}, 120],
  ['the default TTL without Cache-Control or Expires', {}, { defaultTtlSec: 45 }, 45],
  [
    'no-cache with a validator as 0 (revalidate every time)',
    { 'cache-control': 'no-cache', etag: '"a"' },
    {},
    0,
  ],
  ['max-age=0 with a validator as 0', { 'cache-control': 'max-age=0', 'last-modified': at(-60) }, {}, 0],
  ['an invalid Expires as expired, kept for its validator', { expires: '0', etag: '"a"' }, {}, 0],
];

for (const [what, headers, overrides, sec] of LIFETIMES) {
  test(`takes the freshness lifetime from ${what}`, () => {
    assert.equal(fresh(headers, 200, 10, overrides)?.freshMs, sec * 1000);
  });
}

const NOT_STORED: [string, Record<string, string | string[]>, number, number, object][] = [
  ['no-store', { 'cache-control': 'max-age=60, no-store' }, 200, 10, {}],
  ['private', { 'cache-control': 'private, max-age=60' }, 200, 10, {}],
  ['a Set-Cookie response', { 'cache-control': 'max-age=60', 'set-cookie': ['a=1'] }, 200, 10, {}],
  ['Vary: *', { 'cache-control': 'max-age=60', vary: '*' }, 200, 10, {}],
  ['a 500', { 'cache-control': 'max-age=60' }, 500, 10, {}],
  ['a 206', { 'cache-control': 'max-age=60' }, 206, 10, {}],
  ['a 302', { 'cache-control': 'max-age=60' }, 302, 10, {}],
  ['a body over maxObjectBytes', { 'cache-control': 'max-age=60' }, 200, 101, { maxObjectBytes: 100 }],
  ['a response without freshness information when the default TTL is 0', { etag: '"a"' }, 200, 10, {}],
  ['max-age=0 without a validator', { 'cache-control': 'max-age=0' }, 200, 10, {}],
  ['no-cache without a validator', { 'cache-control': 'no-cache' }, 200, 10, {}],
];

for (const [what, headers, status, length, overrides] of NOT_STORED) {
  test(`does not store ${what}`, () => {
    assert.equal(fresh(headers, status, length, overrides), undefined);
  });
}

for (const status of [200, 301, 404]) {
  test(`stores a ${status} with a lifetime`, () => {
    assert.equal(fresh({ 'cache-control': 'max-age=5' }, status)?.freshMs, 5000);
  });
}

test('counts the Age header and the response delay into the initial age', () => {
  const r = rules();
  const lower = { 'cache-control': 'max-age=60', age: '10' };
  const f = freshness(200, lower, parseCacheControl(lower['cache-control']), 1, r, {
    requestTime: T0,
    responseTime: T0 + 500,
  });
  assert.equal(f?.initialAgeMs, 10_500);
});

test('counts a Date in the past as apparent age when it exceeds the Age header', () => {
  assert.equal(fresh({ 'cache-control': 'max-age=60', date: at(-20), age: '5' })?.initialAgeMs, 20_000);
});

const STALE_WINDOWS: [string, Record<string, string>, number, number][] = [
  ["the rules' windows by default", { 'cache-control': 'max-age=60' }, 30, 300],
  [
    "the response's own directives over the rules",
    { 'cache-control': 'max-age=60, stale-while-revalidate=5, stale-if-error=7' },
    5,
    7,
  ],
  ['none under must-revalidate', { 'cache-control': 'max-age=60, must-revalidate, stale-if-error=7' }, 0, 0],
  ['none under proxy-revalidate', { 'cache-control': 'max-age=60, proxy-revalidate' }, 0, 0],
  ['none for no-cache', { 'cache-control': 'no-cache', etag: '"a"' }, 0, 0],
  [
    "no rules' windows under s-maxage (it implies proxy-revalidate)",
    { 'cache-control': 's-maxage=60' },
    0,
    0,
  ],
  ["s-maxage's own explicit windows", { 'cache-control': 's-maxage=60, stale-while-revalidate=9' }, 9, 0],
];

for (const [what, headers, swr, sie] of STALE_WINDOWS) {
  test(`allows serving stale for ${what}`, () => {
    const f = fresh(headers);
    assert.deepEqual([f?.swrMs, f?.sieMs], [swr * 1000, sie * 1000]);
  });
}
