/**
 * The shapes of the WAF differential corpus and the HTTP helpers its builders share: browser-like
 * headers, a Magento session cookie, form, multipart and JSON bodies, raw request text.
 */
import { BROWSER_USER_AGENTS, type ValueFamily } from './corpus-payloads.ts';

/** What a request is: a CRS attack family, or benign shop traffic. */
export type Family = ValueFamily | 'protocol' | 'scanner' | 'benign';

/** Where the interesting part of a request sits. */
export type Placement =
  | 'query'
  | 'form'
  | 'json'
  | 'multipart'
  | 'cookie'
  | 'header'
  | 'path'
  | 'upload'
  | 'chunked'
  | 'method'
  | 'request';

/** One request of the corpus. */
export interface CorpusRequest {
  /**
   * Stable id: `family.placement.NN` (NN is a position in a payload list), `benign.carrier.NN`, or
   * `family.name` for hand-written cases.
   */
  readonly id: string;
  readonly family: Family;
  readonly placement: Placement;
  /**
   * Whether CRS at paranoia level 1 should answer 403. Undefined where CRS only scores the request
   * below the threshold, looks only from paranoia 2, or nginx refuses it before ModSecurity.
   */
  readonly expectBlocked?: boolean;
  readonly method: string;
  /** Path with query, as sent on the request line. */
  readonly path: string;
  /** Header names as sent; a `host` entry replaces the sender's Host. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /**
   * The exact request bytes (latin1), for requests undici will not send: `{{host}}` is replaced by the
   * sender's Host. method/path/headers then only describe it.
   */
  readonly raw?: string;
  /** Why the request is in the corpus, where the id does not say it. */
  readonly note?: string;
}

/** A request without its corpus identity: what the builders return. */
export type Shape = Omit<CorpusRequest, 'id' | 'family' | 'placement' | 'expectBlocked'>;

/** The user agent of ordinary browser traffic in the corpus. */
export const UA = BROWSER_USER_AGENTS[0]!;
/** Magento's CSRF form key, in the session cookie and every form. */
export const FORM_KEY = 'Xy7aB3cD9eF1gH2j';
/** The multipart boundary of every multipart body. */
export const BOUNDARY = '----TriplaneCorpus7MA4YWxkTrZu0gW';
/** A logged-in Magento session's cookies. */
export const SESSION_COOKIE = `PHPSESSID=k3v9q2h1m8c7d6s5a4p0o1i2u3; form_key=${FORM_KEY}; mage-cache-sessid=true; private_content_version=3f2c1a0b9e8d7c6b5a4f3e2d1c0b9a8f; X-Magento-Vary=9bf9a599123e6402b85cde67144717a08b817412`;
/** Headers of a browser loading a page. */
export const PAGE = {
  'user-agent': UA,
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'accept-language': 'en-US,en;q=0.9',
};
/** Headers of the storefront's own XHR calls. */
export const XHR = {
  'user-agent': UA,
  accept: 'application/json, text/javascript, */*; q=0.01',
  'accept-language': 'en-US,en;q=0.9',
  'x-requested-with': 'XMLHttpRequest',
};
/** A customer token for Magento's REST API. */
export const BEARER = { authorization: 'Bearer 9yq1q1c8xsr7k6i0b4m3p5n2z0a8w7e6' };

/** Percent-encoding as `encodeURIComponent` does it. */
export const enc = encodeURIComponent;
/** A list position as the two-digit suffix of an id. */
export const pad = (i: number) => String(i).padStart(2, '0');

/** `application/x-www-form-urlencoded`, as a browser encodes it. */
export function form(fields: readonly (readonly [string, string])[]): string {
  return fields.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

/** A file part of a multipart body. */
export interface FilePart {
  readonly field: string;
  readonly filename: string;
  readonly type: string;
  readonly content: string;
}

/** `multipart/form-data` with CRLF line ends and a fixed boundary. */
export function multipart(
  fields: readonly (readonly [string, string])[],
  files: readonly FilePart[] = [],
): string {
  const parts = fields.map(
    ([k, v]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
  );
  for (const f of files) {
    parts.push(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${f.field}"; filename="${f.filename}"\r\nContent-Type: ${f.type}\r\n\r\n${f.content}\r\n`,
    );
  }
  return `${parts.join('')}--${BOUNDARY}--\r\n`;
}

/** Content-Type of the corpus's multipart bodies. */
export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
/** Content-Type of form posts, as jQuery sends it. */
export const FORM_TYPE = 'application/x-www-form-urlencoded; charset=UTF-8';

/** A header value as a client can send it: printable ASCII kept, anything else percent-encoded. */
export function headerSafe(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) && v.trim() === v ? v : enc(v);
}

/**
 * A cookie value as an attacker sends it: raw, but for what would end the cookie (`;`) or cannot be
 * sent in a header (controls, non-ASCII), which is percent-encoded. ModSecurity does not URL-decode
 * cookies, so encoding the whole value would hide most payloads from CRS.
 */
export function cookieSafe(v: string): string {
  return v.replace(/[^\x20-\x3a\x3c-\x7e]/g, (c) => enc(c));
}

/** A request with a JSON body. */
export function json(
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Shape {
  return {
    method,
    path,
    headers: { ...XHR, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
}

/** A cart item with a customer-entered custom option (engraving text): free text in JSON. */
export function cartItemWithOption(text: string) {
  return {
    cartItem: {
      sku: '24-MB01',
      qty: 1,
      quote_id: '4',
      product_option: { extension_attributes: { custom_options: [{ option_id: '5', option_value: text }] } },
    },
  };
}

/** A raw request: a request line, headers (Host first unless left out), then a body. */
export function rawRequest(requestLine: string, headers: readonly string[], body = ''): string {
  return `${requestLine}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
}

/** Headers of a raw request: Host, a browser's user agent, and close after the answer. */
export const RAW_BASE = ['Host: {{host}}', `User-Agent: ${UA}`, 'Accept: */*', 'Connection: close'];
/** The same without Host. */
export const RAW_NO_HOST = [`User-Agent: ${UA}`, 'Accept: */*', 'Connection: close'];
