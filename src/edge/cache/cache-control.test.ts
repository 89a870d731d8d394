import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCacheControl } from './cache-control.ts';

const NONE = {
  noStore: false,
  noCache: false,
  private: false,
  mustRevalidate: false,
  proxyRevalidate: false,
};

const CASES: [string | string[] | undefined, object][] = [
  [undefined, NONE],
  ['max-age=60', { ...NONE, maxAge: 60 }],
  ['public, max-age=60, s-maxage=600', { ...NONE, maxAge: 60, sMaxAge: 600 }],
  ['Max-Age="30"', { ...NONE, maxAge: 30 }],
  ['max-age=abc', { ...NONE, maxAge: 0 }],
  ['max-age=-5', { ...NONE, maxAge: 0 }],
  ['no-store', { ...NONE, noStore: true }],
  ['no-cache, private="set-cookie"', { ...NONE, noCache: true, private: true }],
  ['must-revalidate, proxy-revalidate', { ...NONE, mustRevalidate: true, proxyRevalidate: true }],
  [
    'max-age=10, stale-while-revalidate=20, stale-if-error=30',
    { ...NONE, maxAge: 10, staleWhileRevalidate: 20, staleIfError: 30 },
  ],
  [['max-age=10', 'no-cache'], { ...NONE, maxAge: 10, noCache: true }],
];

for (const [value, expected] of CASES) {
  test(`parses Cache-Control ${JSON.stringify(value)}`, () => {
    assert.deepEqual(parseCacheControl(value), expected);
  });
}
