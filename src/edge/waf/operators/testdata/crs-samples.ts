/**
 * Hand-written values for a sample of CRS 3.3.4 `@rx` rules (by rule id; a chained rule's links are
 * `id#2`, `id#3`), each checked against libmodsecurity 3.0.9 running the same pattern.
 */
export interface CrsSample {
  readonly id: string;
  readonly matching: readonly string[];
  readonly notMatching: readonly string[];
}

export const CRS_SAMPLES: readonly CrsSample[] = [
  {
    id: '920100',
    matching: ['GET /index.php HTTP/1.1', 'OPTIONS * HTTP/1.1', 'CONNECT 10.0.0.1:443 HTTP/1.1'],
    notMatching: ['GET index.php HTTP/1.1', '<script> / HTTP/1.1'],
  },
  { id: '920170', matching: ['GET', 'HEAD'], notMatching: ['POST', 'get', 'GETS'] },
  {
    id: '920240',
    matching: ['application/x-www-form-urlencoded', 'Application/X-WWW-Form-Urlencoded; charset=utf-8'],
    notMatching: ['multipart/form-data', 'text/application/x-www-form-urlencoded'],
  },
  {
    id: '921110',
    matching: ['x\nget /admin http/1.1', 'foo post /a\r'],
    notMatching: ['get the post', 'GET'],
  },
  {
    id: '921120',
    matching: ['x\r\nset-cookie: a=1', 'x\nlocation: http'],
    notMatching: ['set-cookie: a=1', 'x\nlocations: a'],
  },
  { id: '921150', matching: ['a\nb', 'a\r'], notMatching: ['a b', 'a%0ab'] },
  {
    id: '930100',
    matching: ['/../', '%c0%af..%c0%af', '\\..\\'],
    notMatching: ['../', 'a/b/c', '/./'],
  },
  {
    id: '930110',
    matching: ['../etc/passwd', 'a/../b', '..\\windows', '..'],
    notMatching: ['a..b', '.../x', 'a/..b'],
  },
  {
    id: '931100',
    matching: ['http://10.0.0.1/x', 'FTP://192.168.1.1'],
    notMatching: ['http://example.com/', 'xhttp://10.0.0.1'],
  },
  {
    id: '932100',
    matching: [';ls -la', '|cat /etc/passwd'],
    notMatching: ['cat /etc/passwd', 'ls -la', 'hello world'],
  },
  {
    id: '932150',
    matching: ['wget http://x', '=curl http://x'],
    notMatching: ['hello wget', 'x=1'],
  },
  {
    id: '933100',
    matching: ['<?php echo 1; ?>', '<? system("id") ?>', '[php]'],
    notMatching: ['<?xml version="1.0"?>', 'php is fun'],
  },
  {
    id: '933160',
    matching: ['system("ls")', 'eval ($x)', 'phpinfo()'],
    notMatching: ['system administrator', 'evaluation', 'base64'],
  },
  {
    id: '934100',
    matching: ['module.exports = 1', 'String.fromCharCode(97)', 'new Function("a")'],
    notMatching: ['require a child', 'the new function'],
  },
  {
    id: '941110',
    matching: ['<script>alert(1)</script>', '<SCRIPT src=//x>'],
    notMatching: ['<scripts', 'script>', '&lt;script&gt;'],
  },
  {
    id: '941160',
    matching: ['<img src=x onerror=alert(1)>', '"onmouseover="a'],
    notMatching: ['<b>bold</b>', 'one more error'],
  },
  {
    id: '941170',
    matching: ['javascript:alert(1)', ' data:text/html;base64,PHN'],
    notMatching: ['javascript', 'my data: 1'],
  },
  {
    id: '942110',
    matching: ["' or 1", 'abc"', ';drop'],
    notMatching: ["O'Reilly", 'plain text'],
  },
  {
    id: '942140',
    matching: ['information_schema.tables', 'select * from mysql.db', 'pg_catalog'],
    notMatching: ['schema information', 'mysql database'],
  },
  {
    id: '942160',
    matching: ['sleep(5)', 'BENCHMARK(1000000,md5(1))', 'sleep( )'],
    notMatching: ['sleep 5', 'benchmark results', 'sleep(a)'],
  },
  {
    id: '942190',
    matching: ["' union select", 'union all select 1', 'database()', "1' having 1"],
    notMatching: ['union station', 'a database of things'],
  },
  {
    id: '942260',
    matching: ["' or a=b having c", '" like "%a'],
    notMatching: ['or a=b', 'i like it'],
  },
  {
    id: '942430',
    matching: ['!!!!!!!!!!!!', '(a)(b)(c)(d)(e)(f)'],
    notMatching: ['!!!!!!!!!!!', 'plain text with words'],
  },
  {
    id: '943100',
    matching: ['document.cookie="a=b; expires=x"', '<meta http-equiv="set-cookie" content="a">'],
    notMatching: ['cookie; expires', 'http-equiv refresh'],
  },
  {
    id: '944110',
    // Case-sensitive: the rule lower-cases the value first (t:lowercase).
    matching: ['java.lang.runtime', 'processbuilder'],
    notMatching: ['java.lang.Runtime', 'process builder'],
  },
];
