import type { Variables } from './collections.ts';

/** What the WAF sees of a request; strings hold bytes as Latin-1. */
export interface WafRequest {
  readonly method: string;
  /** The request target exactly as sent, e.g. `/search?q=a%27b`. */
  readonly uri: string;
  /** `1.1` or `1.0`. */
  readonly httpVersion: string;
  /** Header name/value pairs in the order and spelling they arrived in. */
  readonly headers: readonly (readonly [string, string])[];
  readonly remoteAddr: string;
  readonly remotePort: number;
  readonly serverPort: number;
  /** A per-request id, available to rules as UNIQUE_ID. */
  readonly id: string;
}

const HEX = /^[0-9a-fA-F]{2}$/;

/** `%XX` decoding that leaves invalid escapes alone; `plus` also turns `+` into a space. */
export function percentDecode(s: string, plus: boolean): { value: string; invalid: boolean } {
  if (s.indexOf('%') < 0 && (!plus || s.indexOf('+') < 0)) return { value: s, invalid: false };
  let out = '';
  let invalid = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (HEX.test(hex)) {
        out += String.fromCharCode(Number.parseInt(hex, 16));
        i += 2;
        continue;
      }
      invalid = true;
      out += c;
    } else if (plus && c === '+') out += ' ';
    else out += c;
  }
  return { value: out, invalid };
}

/**
 * Splits `a=1&b=2` into decoded pairs the way ModSecurity's extractArguments does: on the argument
 * separator, then on the first `=`; a part without `=` is a name with an empty value.
 */
export function parseArguments(
  text: string,
  separator = '&',
): { pairs: [string, string][]; invalid: boolean } {
  const pairs: [string, string][] = [];
  let invalid = false;
  for (const part of text.split(separator)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = percentDecode(eq < 0 ? part : part.slice(0, eq), true);
    const v = percentDecode(eq < 0 ? '' : part.slice(eq + 1), true);
    invalid ||= k.invalid || v.invalid;
    pairs.push([k.value, v.value]);
  }
  return { pairs, invalid };
}

/** Adds one argument to ARGS, ARGS_NAMES, ARGS_<origin>, ARGS_<origin>_NAMES and the combined size. */
export function addArgument(v: Variables, origin: 'GET' | 'POST', key: string, value: string): void {
  v.collection('ARGS').add(key, value);
  v.collection('ARGS_NAMES').add(key, key);
  v.collection(`ARGS_${origin}`).add(key, value);
  v.collection(`ARGS_${origin}_NAMES`).add(key, key);
  const size = Number(v.scalar('ARGS_COMBINED_SIZE') ?? '0') + key.length + value.length;
  v.setScalar('ARGS_COMBINED_SIZE', String(size));
}

/** Fills the variables ModSecurity has before phase 1: connection, request line, URI, headers, cookies. */
export function requestVariables(v: Variables, r: WafRequest): void {
  v.setScalar('REMOTE_ADDR', r.remoteAddr);
  v.setScalar('REMOTE_HOST', r.remoteAddr);
  v.setScalar('REMOTE_PORT', String(r.remotePort));
  v.setScalar('SERVER_PORT', String(r.serverPort));
  v.setScalar('UNIQUE_ID', r.id);
  v.setScalar('REQUEST_METHOD', r.method);
  v.setScalar('REQUEST_PROTOCOL', `HTTP/${r.httpVersion}`);
  v.setScalar('REQUEST_LINE', `${r.method} ${r.uri} HTTP/${r.httpVersion}`);
  v.setScalar('REQUEST_URI_RAW', r.uri);
  v.setScalar('ARGS_COMBINED_SIZE', '0');
  // ModSecurity decodes the whole target once and takes path and URI from the decoded form, but the
  // query string and the arguments from the raw one.
  const decoded = percentDecode(r.uri, false).value;
  const dq = decoded.indexOf('?');
  const path = dq < 0 ? decoded : decoded.slice(0, dq);
  v.setScalar('REQUEST_FILENAME', path);
  v.setScalar('PATH_INFO', path);
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (slash >= 0 && path.length > slash + 1) v.setScalar('REQUEST_BASENAME', path.slice(slash + 1));
  v.setScalar('REQUEST_URI', absolutePath(decoded));
  const rq = r.uri.indexOf('?');
  if (rq >= 0) {
    const query = r.uri.slice(rq + 1);
    v.setScalar('QUERY_STRING', query);
    const args = parseArguments(query);
    if (args.invalid) v.setScalar('URLENCODED_ERROR', '1');
    for (const [k, val] of args.pairs) addArgument(v, 'GET', k, val);
  }
  for (const [name, value] of r.headers) addHeader(v, name, value);
}

/** `http://host/path` → `/path`; anything else unchanged. */
function absolutePath(uri: string): string {
  if (uri === '' || uri[0] === '/') return uri;
  const m = /^[^:/?#]+:\/\/[^/]*(\/.*)$/.exec(uri);
  return m ? m[1]! : uri;
}

function addHeader(v: Variables, name: string, value: string): void {
  v.collection('REQUEST_HEADERS_NAMES').add(name, name);
  v.collection('REQUEST_HEADERS').add(name, value);
  const lower = name.toLowerCase();
  if (lower === 'cookie') addCookies(v, value);
  else if (lower === 'content-type') {
    const t = value.toLowerCase();
    if (t.startsWith('multipart/form-data')) v.setScalar('REQBODY_PROCESSOR', 'MULTIPART');
    if (t.startsWith('application/x-www-form-urlencoded')) v.setScalar('REQBODY_PROCESSOR', 'URLENCODED');
  } else if (lower === 'host') v.setScalar('SERVER_NAME', value.split(':')[0]!);
  else if (lower === 'authorization') v.setScalar('AUTH_TYPE', value.split(' ')[0]!);
}

/** Cookies as ModSecurity v3 splits them: on `;`, name before the first `=`, names left-trimmed. */
function addCookies(v: Variables, header: string): void {
  const parts = header.split(';');
  parts[parts.length - 1] = parts.at(-1)!.trimEnd();
  for (const c of parts) {
    if (c === '') continue;
    const eq = c.indexOf('=');
    const name = (eq < 0 ? c : c.slice(0, eq)).replace(/^\s+/, '');
    if (name === '') continue;
    v.collection('REQUEST_COOKIES_NAMES').add(name, name);
    v.collection('REQUEST_COOKIES').add(name, eq < 0 ? '' : c.slice(eq + 1));
  }
}
