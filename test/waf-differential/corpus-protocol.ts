/**
 * Protocol cases of the corpus: methods, content types and charsets, restricted headers, smuggling and
 * response splitting in arguments, multipart abuse, and requests only a raw socket can send.
 */
import {
  BOUNDARY,
  type CorpusRequest,
  enc,
  FORM_TYPE,
  json,
  MULTIPART_TYPE,
  PAGE,
  type Placement,
  RAW_BASE,
  RAW_NO_HOST,
  rawRequest,
  type Shape,
  UA,
} from './corpus-http.ts';

/** Protocol violations: `[name, placement, expectBlocked, shape, note?]`. */
export function protocolCases(): CorpusRequest[] {
  const get = (path: string, headers: Record<string, string> = {}): Shape => ({
    method: 'GET',
    path,
    headers: { ...PAGE, ...headers },
  });
  const post = (type: string, body: string, headers: Record<string, string> = {}): Shape => ({
    method: 'POST',
    path: '/customer/account/loginPost/',
    headers: { ...PAGE, 'content-type': type, ...headers },
    body,
  });
  const raw = (requestLine: string, headers: readonly string[], body = ''): Shape => {
    const [method = '', path = ''] = requestLine.split(' ');
    return { method, path, headers: {}, raw: rawRequest(requestLine, headers, body) };
  };
  const mp = (part: string): Shape => ({
    method: 'POST',
    path: '/admin/catalog/product/save/id/42/',
    headers: { ...PAGE, 'content-type': MULTIPART_TYPE },
    body: `--${BOUNDARY}\r\n${part}\r\n--${BOUNDARY}--\r\n`,
  });
  const cases: [string, Placement, boolean | undefined, Shape, string?][] = [
    ['put', 'method', true, { ...json('PUT', '/catalogsearch/result/', {}) }],
    ['delete', 'method', true, { method: 'DELETE', path: '/customer/account/', headers: PAGE }],
    ['patch', 'method', true, json('PATCH', '/customer/account/', { a: 1 })],
    ['foo', 'method', true, { method: 'FOO', path: '/', headers: PAGE }],
    ['propfind', 'method', true, { method: 'PROPFIND', path: '/', headers: { ...PAGE, depth: '1' } }],
    ['debug', 'method', true, { method: 'DEBUG', path: '/', headers: PAGE }],
    ['track', 'method', true, { method: 'TRACK', path: '/', headers: PAGE }],
    ['trace', 'method', undefined, raw('TRACE / HTTP/1.1', RAW_BASE), 'nginx answers 405 itself'],
    [
      'connect',
      'method',
      undefined,
      raw('CONNECT evil.example:443 HTTP/1.1', ['Host: evil.example:443', ...RAW_NO_HOST]),
      'nginx answers 400',
    ],
    ['lowercase-method', 'method', undefined, raw('get / HTTP/1.1', RAW_BASE), 'nginx answers 400'],
    ['get-with-body', 'request', true, { ...get('/catalogsearch/result/?q=shirt'), body: 'q=shirt' }],
    ['content-type-php', 'request', true, post('application/x-php', '<?php echo 1;')],
    [
      'content-type-text-plain',
      'request',
      true,
      post('text/plain', 'hello'),
      'navigator.sendBeacon sends text/plain',
    ],
    ['content-type-html', 'request', true, post('text/html', '<p>hello</p>')],
    [
      'charset-utf7',
      'request',
      true,
      post('application/x-www-form-urlencoded; charset=utf-7', 'q=%2BADw-script%2BAD4-'),
    ],
    [
      'charset-ibm037',
      'request',
      true,
      post('application/x-www-form-urlencoded; charset=ibm037', 'q=%89%95'),
    ],
    ['content-type-unknown-param', 'request', true, post('application/json; foo=bar', '{"a":1}')],
    ['header-proxy', 'header', true, get('/', { proxy: 'http://evil.example:8080' }), 'httpoxy'],
    ['header-content-encoding', 'header', true, post(FORM_TYPE, 'q=1', { 'content-encoding': 'gzip' })],
    ['header-lock-token', 'header', true, get('/', { 'lock-token': '<opaquelocktoken:1234>' })],
    ['header-if', 'header', true, get('/', { if: '(<urn:uuid:1234>)' })],
    ['header-accept-charset', 'header', true, get('/', { 'accept-charset': 'utf-7' })],
    ['range-invalid', 'header', undefined, get('/media/logo/stores/1/logo.svg', { range: 'bytes=10-5' })],
    [
      'range-many',
      'header',
      undefined,
      get('/media/logo/stores/1/logo.svg', { range: 'bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13,14-15,16-17' }),
    ],
    ['accept-empty', 'header', true, get('/', { accept: '' })],
    ['user-agent-empty', 'header', undefined, get('/', { 'user-agent': '' })],
    ['host-ip', 'header', undefined, get('/', { host: '127.0.0.1' })],
    ['smuggling-in-arg', 'query', true, get(`/catalogsearch/result/?q=${enc('x GET /admin HTTP/1.1')}`)],
    [
      'response-splitting-arg',
      'query',
      true,
      get(`/catalogsearch/result/?q=${enc('x\r\nSet-Cookie: admin=1')}`),
    ],
    [
      'response-splitting-http',
      'query',
      true,
      get(
        `/catalogsearch/result/?q=${enc('x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>x</h1>')}`,
      ),
    ],
    [
      'header-injection-arg',
      'query',
      true,
      get(`/customer/account/?back=${enc('/\r\nLocation: https://evil.example/')}`),
    ],
    ['newline-in-arg-name', 'form', true, post(FORM_TYPE, `${enc('a\nb')}=1`)],
    ['nul-in-arg', 'query', true, get('/catalogsearch/result/?q=shirt%00.jpg')],
    [
      'invalid-url-encoding-query',
      'query',
      undefined,
      raw('GET /catalogsearch/result/?q=%zz HTTP/1.1', RAW_BASE),
    ],
    ['invalid-url-encoding-form', 'form', undefined, post(FORM_TYPE, 'q=%zz&form_key=1')],
    ['fullwidth-unicode', 'query', undefined, get('/catalogsearch/result/?q=%uff1cscript%uff1e')],
    [
      'multipart-charset-utf7',
      'multipart',
      true,
      mp('Content-Disposition: form-data; name="_charset_"\r\n\r\nutf-7'),
    ],
    [
      'multipart-part-charset',
      'multipart',
      true,
      mp(
        'Content-Disposition: form-data; name="q"\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n+ADw-script+AD4-',
      ),
    ],
    [
      'multipart-transfer-encoding',
      'multipart',
      true,
      mp('Content-Disposition: form-data; name="q"\r\nContent-Transfer-Encoding: base64\r\n\r\nPHNjcmlwdD4='),
    ],
    [
      'multipart-no-final-boundary',
      'multipart',
      undefined,
      {
        ...mp('Content-Disposition: form-data; name="q"\r\n\r\nx'),
        body: `--${BOUNDARY}\r\nContent-Disposition: form-data; name="q"\r\n\r\nx\r\n`,
      },
    ],
    ['http-1.2', 'request', true, raw('GET / HTTP/1.2', RAW_BASE)],
    ['http-3.0', 'request', undefined, raw('GET / HTTP/3.0', RAW_BASE), 'nginx answers 505'],
    [
      'http-1.0-no-host',
      'request',
      undefined,
      raw('GET / HTTP/1.0', RAW_NO_HOST),
      'CRS 920280 scores 3, below the threshold',
    ],
    ['http-1.1-no-host', 'request', undefined, raw('GET / HTTP/1.1', RAW_NO_HOST), 'nginx answers 400'],
    [
      'host-empty',
      'request',
      undefined,
      raw('GET / HTTP/1.1', ['Host: ', ...RAW_NO_HOST]),
      'nginx answers 400',
    ],
    ['absolute-uri', 'request', undefined, raw('GET http://evil.example/ HTTP/1.1', RAW_BASE)],
    [
      'post-without-length',
      'request',
      undefined,
      raw('POST /customer/account/loginPost/ HTTP/1.1', RAW_BASE),
      'CRS 920180 scores 3',
    ],
    [
      'cl-and-te',
      'request',
      undefined,
      raw(
        'POST / HTTP/1.1',
        [...RAW_BASE, `Content-Type: ${FORM_TYPE}`, 'Content-Length: 4', 'Transfer-Encoding: chunked'],
        '5\r\nq=abc\r\n0\r\n\r\n',
      ),
      'smuggling: nginx answers 400',
    ],
    [
      'duplicate-content-length',
      'request',
      undefined,
      raw('POST / HTTP/1.1', [...RAW_BASE, 'Content-Length: 3', 'Content-Length: 4'], 'abc'),
      'nginx answers 400',
    ],
    [
      'content-length-not-a-number',
      'request',
      undefined,
      raw('POST / HTTP/1.1', [...RAW_BASE, 'Content-Length: 3a'], 'abc'),
      'nginx answers 400',
    ],
    ['header-without-colon', 'request', undefined, raw('GET / HTTP/1.1', [...RAW_BASE, 'NoColonHere'])],
    [
      'header-name-with-space',
      'request',
      undefined,
      raw('GET / HTTP/1.1', [...RAW_BASE, 'Bad Header: x']),
      'nginx answers 400',
    ],
    [
      'header-obs-fold',
      'request',
      undefined,
      raw('GET / HTTP/1.1', [...RAW_BASE, 'X-Note: a', ' Set-Cookie: admin=1']),
      'nginx answers 400',
    ],
    [
      'header-bare-cr',
      'request',
      undefined,
      raw('GET / HTTP/1.1', [...RAW_BASE, 'X-Note: a\rSet-Cookie: admin=1']),
    ],
    ['header-nul', 'request', undefined, raw('GET / HTTP/1.1', [...RAW_BASE, 'X-Note: a\u0000b'])],
    ['header-8bit', 'request', undefined, raw('GET / HTTP/1.1', [...RAW_BASE, 'X-Note: caf\u00e9'])],
    [
      'connection-conflict',
      'header',
      undefined,
      raw('GET / HTTP/1.1', [
        'Host: {{host}}',
        `User-Agent: ${UA}`,
        'Accept: */*',
        'Connection: keep-alive, close',
      ]),
      'CRS 920210 scores 3',
    ],
    [
      'path-invalid-encoding',
      'path',
      undefined,
      raw('GET /catalog%zz HTTP/1.1', RAW_BASE),
      'nginx answers 400',
    ],
    [
      'request-line-extra-token',
      'request',
      undefined,
      raw('GET / HTTP/1.1 extra', RAW_BASE),
      'nginx answers 400',
    ],
    [
      'uri-too-long',
      'request',
      undefined,
      raw(`GET /catalogsearch/result/?q=${'a'.repeat(40_000)} HTTP/1.1`, RAW_BASE),
      'nginx answers 414',
    ],
  ];
  return cases.map(([name, placement, expectBlocked, shape, note]) => ({
    id: `protocol.${name}`,
    family: 'protocol',
    placement,
    expectBlocked,
    ...shape,
    ...(note ? { note } : {}),
  }));
}
