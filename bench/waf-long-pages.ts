/**
 * The response phases on long pages, as the edge's inspection threads run them (V8's linear-engine
 * fallback on): a 512 KiB storefront page that names "SQL Server" 0, 1, 10 or 30 times near its
 * start, and a page that starts with a MySQL error. Each case runs under V8's default fallback
 * threshold (50 000 backtracks) and under the edge's (BACKTRACKS_BEFORE_FALLBACK), side by side in
 * one run, each threshold in a child process of its own (the flag is fixed per process). It also
 * times a catastrophic pattern, `^(a+)+b` on 5 000 a's, which is what the threshold delays.
 *   node --import tsx bench/waf-long-pages.ts [rounds, default 3]
 * Prints milliseconds per inspection (the median of the rounds) and the ratio default/edge.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WafSettings } from '../src/contracts/snapshot.ts';
import { WafRules, WafTransaction } from '../src/edge/waf/index.ts';
import { enableLinearRegExpFallback } from '../src/edge/waf/operators/index.ts';
import { BACKTRACKS_BEFORE_FALLBACK, CompiledPattern } from '../src/edge/waf/operators/rx.ts';
import { PRODUCT_GET } from '../src/edge/waf/testing.ts';

const V8_DEFAULT = 50_000;
const [roundsText = '3', child] = process.argv.slice(2);
const rounds = Number(roundsText);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`rounds: expected a positive integer, got "${roundsText}"`);
  process.exit(2);
}

const ITEM = '<li class="product"><a href="/red-dress.html">Red dress</a> <span>€49</span></li>\n';
const MYSQL_ERROR =
  "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''' at line 1";
const CASES: [string, string][] = [
  ['plain page', ''],
  ['names SQL Server once', 'Migrating from SQL Server to MariaDB. '],
  ['names SQL Server 10 times', 'SQL Server '.repeat(10)],
  ['names SQL Server 30 times', 'SQL Server '.repeat(30)],
  ['starts with a MySQL error', MYSQL_ERROR],
];
const page = (lead: string) =>
  Buffer.from(`<!doctype html><html><body>${lead}<ul>\n${ITEM.repeat(7000)}`)
    .subarray(0, 512 * 1024)
    .toString('latin1');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** In a child: times each case under this threshold, prints `name<TAB>ms` lines. */
function measure(threshold: number): void {
  enableLinearRegExpFallback(threshold);
  const settings = WafSettings.parse({ responseBody: { enabled: true } });
  const rules = new WafRules().forSettings(settings);
  for (const [name, lead] of CASES) {
    const body = page(lead);
    const ms: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t = new WafTransaction(rules);
      t.requestHeaders(PRODUCT_GET);
      t.requestBody('');
      const t0 = performance.now();
      t.responseHeaders(200, [['Content-Type', 'text/html; charset=UTF-8']]);
      t.responseBody(body, true);
      ms.push(performance.now() - t0);
    }
    console.log(`${name}\t${median(ms)}`);
  }
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // A new source each round: V8 shares compiled code between regexps of the same source.
    const p = new CompiledPattern(`^(a+)+b${'(?:)'.repeat(r)}`);
    const t0 = performance.now();
    p.exec('a'.repeat(5000));
    ms.push(performance.now() - t0);
  }
  console.log(`catastrophic ^(a+)+b, 5 000 a's\t${median(ms)}`);
}

if (child !== undefined) {
  measure(Number(child));
} else {
  const run = (threshold: number) => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), String(rounds), String(threshold)],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`the measuring child failed:\n${r.stderr}`);
    return new Map(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t') as [string, string])
        .map(([k, v]) => [k, Number(v)]),
    );
  };
  const before = run(V8_DEFAULT);
  const after = run(BACKTRACKS_BEFORE_FALLBACK);
  console.log(
    `| case | V8 default (${V8_DEFAULT}) ms | edge (${BACKTRACKS_BEFORE_FALLBACK}) ms | default/edge |`,
  );
  console.log('|---|---:|---:|---:|');
  for (const [name, b] of before) {
    const a = after.get(name)!;
    console.log(`| ${name} | ${b.toFixed(1)} | ${a.toFixed(1)} | ${(b / a).toFixed(2)} |`);
  }
}
