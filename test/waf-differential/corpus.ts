/**
 * The WAF differential corpus: attacks of every CRS family and benign Magento traffic, built
 * combinatorially from the lists in corpus-payloads.ts and corpus-benign.ts (payload × placement); the
 * protocol cases are in corpus-protocol.ts and the benign traffic in corpus-shop.ts.
 * It is deterministic: the same code gives the same requests with the same ids, so two runs, or two
 * WAFs, can be compared request by request.
 */
import {
  BEARER,
  type CorpusRequest,
  cartItemWithOption,
  cookieSafe,
  enc,
  type Family,
  FORM_KEY,
  FORM_TYPE,
  form,
  headerSafe,
  json,
  MULTIPART_TYPE,
  multipart,
  PAGE,
  type Placement,
  pad,
  SESSION_COOKIE,
  type Shape,
  UA,
} from './corpus-http.ts';
import {
  ATTACK_VALUES,
  PROBED_PATHS,
  SCANNER_HEADERS,
  SCANNER_PATHS,
  SCANNER_USER_AGENTS,
  SESSION_PARAM_NAMES,
  type ValueFamily,
} from './corpus-payloads.ts';
import { protocolCases } from './corpus-protocol.ts';
import { benignTraffic } from './corpus-shop.ts';

export type { CorpusRequest, Family, Placement } from './corpus-http.ts';

/** Where an attack payload goes, by placement. */
const ATTACK_PLACEMENTS: Readonly<
  Record<'query' | 'form' | 'json' | 'multipart' | 'cookie' | 'header', (p: string) => Shape>
> = {
  query: (p) => ({
    method: 'GET',
    path: `/catalogsearch/result/?q=${enc(p)}`,
    headers: { ...PAGE, cookie: SESSION_COOKIE },
  }),
  form: (p) => ({
    method: 'POST',
    path: '/customer/account/loginPost/',
    headers: { ...PAGE, cookie: SESSION_COOKIE, 'content-type': FORM_TYPE },
    body: form([
      ['form_key', FORM_KEY],
      ['login[username]', p],
      ['login[password]', 'Secret123!'],
      ['send', ''],
    ]),
  }),
  json: (p) => json('POST', '/rest/V1/carts/mine/items', cartItemWithOption(p), BEARER),
  multipart: (p) => ({
    method: 'POST',
    path: '/admin/catalog/product/save/id/42/',
    headers: { ...PAGE, cookie: SESSION_COOKIE, 'content-type': MULTIPART_TYPE },
    body: multipart([
      ['form_key', FORM_KEY],
      ['product[name]', p],
      ['product[sku]', 'MH01'],
    ]),
  }),
  cookie: (p) => ({
    method: 'GET',
    path: '/checkout/cart/',
    headers: { ...PAGE, cookie: `${SESSION_COOKIE}; store=${cookieSafe(p)}` },
  }),
  header: (p) => ({ method: 'GET', path: '/', headers: { ...PAGE, 'user-agent': headerSafe(p) } }),
};

/** Families whose payloads CRS looks for in the User-Agent at paranoia 1 (and in cookies: not RFI). */
const UA_INSPECTED: ReadonlySet<Family> = new Set(['sqli', 'xss', 'java']);
const COOKIES_UNINSPECTED: ReadonlySet<Family> = new Set(['rfi']);

/** Whether CRS at paranoia 1 inspects where a value attack of a family is placed. */
function inspected(family: Family, placement: string): boolean {
  if (placement === 'header') return UA_INSPECTED.has(family);
  if (placement === 'cookie') return !COOKIES_UNINSPECTED.has(family);
  return true;
}

function valueAttacks(): CorpusRequest[] {
  const out: CorpusRequest[] = [];
  for (const [family, payloads] of Object.entries(ATTACK_VALUES) as [ValueFamily, readonly string[]][]) {
    for (const [placement, place] of Object.entries(ATTACK_PLACEMENTS)) {
      payloads.forEach((p, i) => {
        const expectBlocked = inspected(family, placement) ? true : undefined;
        out.push({
          id: `${family}.${placement}.${pad(i)}`,
          family,
          placement: placement as Placement,
          expectBlocked,
          ...place(p),
        });
      });
    }
  }
  return out;
}

/** The first payloads of some families again, in a chunked form body sent over a raw socket. */
function chunkedAttacks(): CorpusRequest[] {
  const families: ValueFamily[] = ['sqli', 'xss', 'rce-unix', 'php', 'java'];
  return families.flatMap((family) =>
    ATTACK_VALUES[family].slice(0, 3).map((p, i): CorpusRequest => {
      const body = form([
        ['form_key', FORM_KEY],
        ['login[username]', p],
      ]);
      const chunk = Buffer.byteLength(body).toString(16);
      return {
        id: `${family}.chunked.${pad(i)}`,
        family,
        placement: 'chunked',
        expectBlocked: true,
        method: 'POST',
        path: '/customer/account/loginPost/',
        headers: { 'content-type': FORM_TYPE, 'transfer-encoding': 'chunked' },
        body,
        raw: `POST /customer/account/loginPost/ HTTP/1.1\r\nHost: {{host}}\r\nUser-Agent: ${UA}\r\nAccept: */*\r\nContent-Type: ${FORM_TYPE}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}\r\n${body}\r\n0\r\n\r\n`,
      };
    }),
  );
}

/** Uploads whose file name CRS refuses (933110 PHP scripts; 932180, tagged attack-rce, config files). */
function uploadAttacks(): CorpusRequest[] {
  const files: [ValueFamily, string, string][] = [
    ['php', 'shell.php', '<?php system($_GET["c"]); ?>'],
    ['php', 'image.phtml', 'GIF89a<?php phpinfo(); ?>'],
    ['php', 'avatar.php5', 'GIF89a'],
    ['php', '.htaccess', 'AddType application/x-httpd-php .jpg'],
    ['rce-unix', '.env', 'APP_KEY=base64:attacker'],
    ['rce-unix', 'local.xml', '<config><global><install><date>x</date></install></global></config>'],
  ];
  return files.map(([family, filename, content], i) => ({
    id: `${family}.upload.${pad(i)}`,
    family,
    placement: 'upload',
    expectBlocked: true,
    method: 'POST',
    path: '/admin/catalog/product_gallery/upload/',
    headers: { ...PAGE, cookie: SESSION_COOKIE, 'content-type': MULTIPART_TYPE },
    body: multipart([['form_key', FORM_KEY]], [{ field: 'image', filename, type: 'image/jpeg', content }]),
  }));
}

/** Session ids set by parameter, with and without an off-domain Referer (943110, 943120). */
function sessionFixationByName(): CorpusRequest[] {
  const out: CorpusRequest[] = [];
  SESSION_PARAM_NAMES.forEach((name, i) => {
    const referer = { referer: 'https://evil.example/landing.html' };
    const q = `/customer/account/?${enc(name)}=fixated0123456789`;
    out.push(
      {
        id: `session-fixation.param-query.${pad(i)}`,
        family: 'session-fixation',
        placement: 'query',
        expectBlocked: true,
        method: 'GET',
        path: q,
        headers: PAGE,
      },
      {
        id: `session-fixation.param-query-referer.${pad(i)}`,
        family: 'session-fixation',
        placement: 'query',
        expectBlocked: true,
        method: 'GET',
        path: q,
        headers: { ...PAGE, ...referer },
      },
      {
        id: `session-fixation.param-form.${pad(i)}`,
        family: 'session-fixation',
        placement: 'form',
        expectBlocked: true,
        method: 'POST',
        path: '/customer/account/loginPost/',
        headers: { ...PAGE, 'content-type': FORM_TYPE },
        body: form([
          [name, 'fixated0123456789'],
          ['form_key', FORM_KEY],
        ]),
      },
      {
        id: `session-fixation.param-form-referer.${pad(i)}`,
        family: 'session-fixation',
        placement: 'form',
        expectBlocked: true,
        method: 'POST',
        path: '/customer/account/loginPost/',
        headers: { ...PAGE, ...referer, 'content-type': FORM_TYPE },
        body: form([
          [name, 'fixated0123456789'],
          ['form_key', FORM_KEY],
        ]),
      },
    );
  });
  return out;
}

function lfiPaths(): CorpusRequest[] {
  const probes = PROBED_PATHS.map(
    (path, i): CorpusRequest => ({
      id: `lfi.path.${pad(i)}`,
      family: 'lfi',
      placement: 'path',
      expectBlocked: true,
      method: 'GET',
      path,
      headers: PAGE,
    }),
  );
  // Traversal in the path itself: nginx resolves it (or refuses it) before ModSecurity sees it.
  const traversals = [
    '/static/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/media/%2e%2e/%2e%2e/app/etc/env.php',
    '/pub/..;/..;/etc/passwd',
  ];
  return [
    ...probes,
    ...traversals.map(
      (path, i): CorpusRequest => ({
        id: `lfi.path-traversal.${pad(i)}`,
        family: 'lfi',
        placement: 'path',
        method: 'GET',
        path,
        headers: PAGE,
      }),
    ),
  ];
}

function scanners(): CorpusRequest[] {
  return [
    ...SCANNER_USER_AGENTS.map(
      ({ ua, pl1 }, i): CorpusRequest => ({
        id: `scanner.user-agent.${pad(i)}`,
        family: 'scanner',
        placement: 'header',
        expectBlocked: pl1 ? true : undefined,
        method: 'GET',
        path: i % 2 === 0 ? '/' : '/customer/account/login/',
        headers: { accept: '*/*', 'user-agent': ua },
        ...(pl1 ? {} : { note: 'scripting client: CRS 913101 from paranoia 2' }),
      }),
    ),
    ...SCANNER_HEADERS.map(
      ([name, value], i): CorpusRequest => ({
        id: `scanner.header.${pad(i)}`,
        family: 'scanner',
        placement: 'header',
        expectBlocked: true,
        method: 'GET',
        path: '/',
        headers: { ...PAGE, [name]: value },
      }),
    ),
    ...SCANNER_PATHS.map(
      (path, i): CorpusRequest => ({
        id: `scanner.path.${pad(i)}`,
        family: 'scanner',
        placement: 'path',
        expectBlocked: true,
        method: 'GET',
        path,
        headers: PAGE,
      }),
    ),
  ];
}

/** Builds the whole corpus, attacks first, in a fixed order. */
export function buildCorpus(): CorpusRequest[] {
  return [
    ...valueAttacks(),
    ...chunkedAttacks(),
    ...uploadAttacks(),
    ...sessionFixationByName(),
    ...lfiPaths(),
    ...scanners(),
    ...protocolCases(),
    ...benignTraffic(),
  ];
}

/** Whether a request is an attack (every family but benign). */
export function isAttack(r: CorpusRequest): boolean {
  return r.family !== 'benign';
}
