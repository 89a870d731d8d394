import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHALLENGE_COOKIE, challengeResponse, verifyChallenge } from './challenge.ts';

const secret = 'test-secret';
const t0 = Date.UTC(2025, 0, 1);
const MIN = 60_000;

/** The cookie a browser would send after running the page's script. */
function cookieFrom(body: string): string {
  const m = body.match(new RegExp(`document\\.cookie="(${CHALLENGE_COOKIE}=[^;"]+)`));
  assert.ok(m, 'the page sets the challenge cookie');
  return m[1]!;
}

describe('challengeResponse', () => {
  it('answers 403 with an uncacheable HTML page that sets the cookie and reloads', () => {
    const r = challengeResponse({ ip: '1.2.3.4', secret, now: t0 });
    assert.equal(r.status, 403);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
    assert.match(r.body, /location\.reload\(\)/);
    assert.match(r.body, /Max-Age=1800; Path=\/; SameSite=Lax/);
    assert.ok(r.body.length < 2048, 'a small page');
  });
});

describe('verifyChallenge', () => {
  const cookie = cookieFrom(challengeResponse({ ip: '1.2.3.4', secret, now: t0 }).body);
  const [name, token] = cookie.split('=') as [string, string];
  const [stamp, mac] = token.split('.') as [string, string];
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

  const cases = [
    { name: 'passes the cookie the page set', header: cookie, ip: '1.2.3.4', now: t0 + 1000, want: true },
    { name: 'passes among other cookies', header: `a=1; ${cookie}; b=2`, ip: '1.2.3.4', now: t0, want: true },
    {
      name: 'passes the IPv4-mapped form of the same client',
      header: cookie,
      ip: '::ffff:1.2.3.4',
      now: t0,
      want: true,
    },
    { name: 'passes just before expiry', header: cookie, ip: '1.2.3.4', now: t0 + 30 * MIN, want: true },
    { name: 'refuses a request without cookies', header: undefined, ip: '1.2.3.4', now: t0, want: false },
    { name: 'refuses a request without the cookie', header: 'a=1; b=2', ip: '1.2.3.4', now: t0, want: false },
    { name: 'refuses another IP', header: cookie, ip: '1.2.3.5', now: t0, want: false },
    {
      name: 'refuses an expired token',
      header: cookie,
      ip: '1.2.3.4',
      now: t0 + 30 * MIN + 1000,
      want: false,
    },
    {
      name: 'refuses a token from the future',
      header: cookie,
      ip: '1.2.3.4',
      now: t0 - 5 * MIN,
      want: false,
    },
    {
      name: 'refuses a tampered signature',
      header: `${name}=${stamp}.${flip(mac, 5)}`,
      ip: '1.2.3.4',
      now: t0,
      want: false,
    },
    {
      name: 'refuses a changed last character',
      header: `${name}=${stamp}.${flip(mac, mac.length - 1)}`,
      ip: '1.2.3.4',
      now: t0,
      want: false,
    },
    {
      name: 'refuses a moved timestamp',
      header: `${name}=${Number(stamp) + 60}.${mac}`,
      ip: '1.2.3.4',
      now: t0 + MIN,
      want: false,
    },
    {
      name: 'refuses a truncated signature',
      header: `${name}=${stamp}.${mac.slice(0, -2)}`,
      ip: '1.2.3.4',
      now: t0,
      want: false,
    },
    {
      name: 'refuses a token without signature',
      header: `${name}=${stamp}`,
      ip: '1.2.3.4',
      now: t0,
      want: false,
    },
    {
      name: 'refuses a cookie whose name only ends the same',
      header: `x${cookie}`,
      ip: '1.2.3.4',
      now: t0,
      want: false,
    },
  ];
  for (const c of cases)
    it(c.name, () => assert.equal(verifyChallenge(c.header, c.ip, secret, c.now), c.want));

  it('refuses a token signed with another secret', () => {
    assert.equal(verifyChallenge(cookie, '1.2.3.4', 'other-secret', t0), false);
  });

  it('honours a shorter validity', () => {
    assert.equal(verifyChallenge(cookie, '1.2.3.4', secret, t0 + 6 * MIN, 5), false);
  });
});
