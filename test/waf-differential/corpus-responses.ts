/**
 * Responses for the WAF's response phases (3 and 4). Both sides' upstreams answer
 * `RESPONSE_PREFIX + name` with these bytes and the content type of the name's extension (nginx
 * serves them as static files, the edge's upstream from this list), and the corpus asks for each
 * with a plain browser GET: what differs is only what the WAF makes of the response.
 */
import { type CorpusRequest, PAGE } from './corpus-http.ts';

/** The path under which both upstreams serve the response cases. */
export const RESPONSE_PREFIX = '/__responses/';

/** Content types by file extension, as the reference's nginx maps them. */
export const RESPONSE_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html',
  txt: 'text/plain',
  xml: 'text/xml',
  json: 'application/json',
};

/** One response: its file name (the extension gives its type) and body. */
export interface ResponseCase {
  readonly name: string;
  readonly body: string;
  /**
   * Whether CRS at paranoia level 1 decides to refuse it (959100: outbound score ≥ 4), with response
   * bodies read. nginx's connector often cannot carry that out any more (the headers are gone): it
   * then drops the connection or lets the response finish, so the decision is what is compared.
   */
  readonly expectBlocked: boolean;
}

const filler = (bytes: number) =>
  '<li class="product"><a href="/red-dress.html">Red dress</a></li>\n'.repeat(Math.ceil(bytes / 64));

export const RESPONSE_CASES: readonly ResponseCase[] = [
  {
    name: 'sql-mysql.html',
    body: "<p>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''' at line 1</p>",
    expectBlocked: true,
  },
  {
    name: 'sql-postgres.html',
    body: '<b>Warning</b>: pg_query(): Query failed: ERROR:  unterminated quoted string at or near "\'" LINE 1: SELECT * FROM catalog_product_entity WHERE sku = \'',
    expectBlocked: true,
  },
  {
    name: 'sql-mssql.html',
    body: "Microsoft OLE DB Provider for ODBC Drivers error '80040e14' [Microsoft][ODBC SQL Server Driver][SQL Server]Unclosed quotation mark after the character string ''.",
    expectBlocked: true,
  },
  { name: 'sql-oracle.txt', body: 'ORA-01756: quoted string not properly terminated\n', expectBlocked: true },
  {
    name: 'sql-error.xml',
    body: '<?xml version="1.0"?><error>SQLSTATE[42000]: Syntax error or access violation: 1064 You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version</error>',
    expectBlocked: true,
  },
  {
    name: 'php-source.html',
    body: '<?php\n$password = "s3cret";\n$db = mysqli_connect("db", "magento", $password);\n',
    expectBlocked: true,
  },
  {
    name: 'php-error.html',
    body: '<br />\n<b>Fatal error</b>:  Uncaught Error: Call to undefined function mysql_connect() in /var/www/html/app/code/Shop/Db.php:12\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/app/code/Shop/Db.php</b> on line <b>12</b><br />\n',
    expectBlocked: true,
  },
  {
    name: 'java-error.html',
    body: '<pre>java.lang.NullPointerException\n\tat com.shop.CartServlet.doGet(CartServlet.java:42)\n\tat javax.servlet.http.HttpServlet.service(HttpServlet.java:634)\n</pre>',
    expectBlocked: true,
  },
  {
    name: 'iis-error.html',
    body: "<h2>Server Error in '/' Application.</h2><b>Physical path:</b> c:\\inetpub\\wwwroot\\shop\\web.config",
    expectBlocked: true,
  },
  {
    name: 'dir-listing.html',
    body: '<html><head><title>Index of /media/backup</title></head><body><h1>Index of /media/backup</h1><ul><li><a href="db.sql.gz">db.sql.gz</a></li></ul></body></html>',
    expectBlocked: true,
  },
  {
    name: 'sql-error.json',
    body: '{"message":"You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version"}',
    expectBlocked: false,
  },
  {
    name: 'product.html',
    body: `<!doctype html><html><head><title>Red dress</title><script type="text/x-magento-init">{"*":{"Magento_Ui/js/core/app":{"components":{}}}}</script></head><body><h1>Red dress</h1><p>Select a size. Free returns, no errors at checkout.</p><ul>${filler(20_000)}</ul></body></html>`,
    expectBlocked: false,
  },
  {
    name: 'robots.txt',
    body: 'User-agent: *\nDisallow: /checkout/\nDisallow: /customer/\n',
    expectBlocked: false,
  },
  {
    // The leak lies past the 512 KiB inspected: both read the start only (ProcessPartial).
    name: 'late-leak.html',
    body: `<html><body><ul>${filler(600 * 1024)}</ul><?php echo $secret; ?></body></html>`,
    expectBlocked: false,
  },
  {
    name: 'early-leak.html',
    body: `<html><body><?php echo $secret; ?><ul>${filler(600 * 1024)}</ul></body></html>`,
    expectBlocked: true,
  },
];

/** The content type both upstreams send for a case. */
export function responseType(c: ResponseCase): string {
  return RESPONSE_TYPES[c.name.slice(c.name.lastIndexOf('.') + 1)]!;
}

/** A browser GET of each response case. */
export function responseCorpus(): CorpusRequest[] {
  return RESPONSE_CASES.map((c) => ({
    id: `response.${c.name}`,
    family: 'benign',
    placement: 'path',
    expectBlocked: c.expectBlocked,
    method: 'GET',
    path: `${RESPONSE_PREFIX}${c.name}`,
    headers: PAGE,
    note: 'a response case: the request is plain, the response is what the WAF judges',
  }));
}
