import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalIp } from './ip.ts';

/** Name of the cookie the challenge page sets. */
export const CHALLENGE_COOKIE = 'tp_challenge';

/** How long a passed challenge lasts, in minutes, unless the caller says otherwise. */
export const CHALLENGE_VALID_MINUTES = 30;

// Edge nodes' clocks differ a little; a token stamped slightly in the future is still one of ours.
const CLOCK_SKEW_SEC = 60;

/** What a challenge page is made for. */
export interface ChallengeRequest {
  /** The client address the token is bound to. */
  ip: string;
  /** The HMAC key shared by every edge node. */
  secret: string | Buffer;
  /**
   * Wall-clock time in milliseconds.
   * @default Date.now()
   */
  now?: number;
  /** @default CHALLENGE_VALID_MINUTES */
  validMinutes?: number;
}

/** A response for the proxy to write as is. */
export interface ChallengeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function mac(secret: string | Buffer, ip: string, issuedSec: number): Buffer {
  return createHmac('sha256', secret)
    .update(`${canonicalIp(ip)}|${issuedSec}`)
    .digest();
}

/**
 * A small page that stores a token bound to the client IP in a cookie and reloads: a browser passes on
 * its second request, a client that does not run JavaScript never does.
 */
export function challengeResponse(req: ChallengeRequest): ChallengeResponse {
  const issuedSec = Math.floor((req.now ?? Date.now()) / 1000);
  const token = `${issuedSec}.${mac(req.secret, req.ip, issuedSec).toString('base64url')}`;
  const maxAge = (req.validMinutes ?? CHALLENGE_VALID_MINUTES) * 60;
  // The reload happens only if the cookie stuck and no reload happened in the last ten seconds, so a
  // browser that refuses cookies, or whose address changes between requests, does not loop forever.
  const script =
    `document.cookie="${CHALLENGE_COOKIE}=${token}; Max-Age=${maxAge}; Path=/; SameSite=Lax"` +
    `+(location.protocol==="https:"?"; Secure":"");` +
    `var k="${CHALLENGE_COOKIE}_at",t=Date.now(),l=0;try{l=+sessionStorage.getItem(k)||0;sessionStorage.setItem(k,t)}catch(e){}` +
    `if(document.cookie.indexOf("${CHALLENGE_COOKIE}=")>=0&&t-l>1e4)location.reload();` +
    `else document.getElementById("m").textContent="Please enable cookies and reload this page.";`;
  const body =
    '<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex">' +
    '<title>Checking your browser</title></head><body><p id="m">Checking your browser…</p>' +
    '<noscript><p>Please enable JavaScript to continue.</p></noscript>' +
    `<script>${script}</script></body></html>\n`;
  return {
    status: 403,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  };
}

/** Whether the Cookie header carries a challenge token for this IP that is unexpired and untampered. */
export function verifyChallenge(
  cookieHeader: string | undefined,
  ip: string,
  secret: string | Buffer,
  now = Date.now(),
  validMinutes = CHALLENGE_VALID_MINUTES,
): boolean {
  if (!cookieHeader) return false;
  const name = `${CHALLENGE_COOKIE}=`;
  for (let at = cookieHeader.indexOf(name); at >= 0; at = cookieHeader.indexOf(name, at + 1)) {
    // Only a whole cookie name counts: "xtp_challenge=" is someone else's cookie.
    const before = at === 0 ? 32 : cookieHeader.charCodeAt(at - 1);
    if (before !== 32 && before !== 59) continue;
    const end = cookieHeader.indexOf(';', at);
    const value = cookieHeader.slice(at + name.length, end < 0 ? cookieHeader.length : end).trim();
    if (validToken(value, ip, secret, now, validMinutes)) return true;
  }
  return false;
}

function validToken(
  value: string,
  ip: string,
  secret: string | Buffer,
  now: number,
  minutes: number,
): boolean {
  const dot = value.indexOf('.');
  if (dot <= 0) return false;
  const stamp = value.slice(0, dot);
  if (!/^[1-9]\d{0,11}$/.test(stamp)) return false;
  const issuedSec = Number(stamp);
  const nowSec = now / 1000;
  if (issuedSec > nowSec + CLOCK_SKEW_SEC || nowSec - issuedSec > minutes * 60) return false;
  // Compared as text: base64url decoding ignores some trailing bits, so bytes would accept altered tokens.
  const given = Buffer.from(value.slice(dot + 1));
  const want = Buffer.from(mac(secret, ip, issuedSec).toString('base64url'));
  return given.length === want.length && timingSafeEqual(given, want);
}
