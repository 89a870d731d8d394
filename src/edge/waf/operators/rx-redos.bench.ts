/**
 * Measures how the translated CRS `@rx` patterns scale on pathological input, to find super-linear
 * (ReDoS-prone) ones. Not a test: run it by hand, it takes minutes.
 *
 *   node --import tsx src/edge/waf/operators/rx-redos.bench.ts [--linear] [rules dir] > report.txt
 *
 * `--linear` measures with `enableLinearRegExpFallback()` in effect.
 *
 * For each pattern and each "unit" (generic attack characters plus words taken from the pattern),
 * the value is the unit repeated to 1 KB, 8 KB and 64 KB; the growth from 8 to 64 KB gives the
 * exponent (1 = linear, 2 = quadratic). Patterns that stay linear are then run on 1 MB. Each pattern
 * runs in a child process that is killed when one run exceeds the time limit, which is then
 * reported as "> limit".
 *
 * Results (2026-11, 2-core dev machine, Node 20, CRS 3.3.4: 264 static `@rx` patterns):
 * - Backtracking (default): 209 linear (every unit at 1 MB in under 8 ms); 40 quadratic, 0.1-3.7 s
 *   at 64 KB (so minutes at 1 MB): 910170-910190, 920190, 920600, 921120, 921200, 922110, 932190,
 *   932200, 933110, 933111, 933210, 941140, 941150, 941200, 941310, 941330-941350, 941380, 942110,
 *   942130, 942180-942200, 942240, 942260, 942310, 942340, 942480, 942490, 944250, 951013-951260;
 *   15 worse than quadratic, over 4 s before 64 KB: 921160, 932100, 932105, 932106, 932110, 932115,
 *   932150, 933180, 941160 (0.24 s at 1 KB, 1.9 s at 2 KB, 15 s at 4 KB of "<"), 941170, 942251,
 *   942330, 942360, 942361, 942370.
 * - ModSecurity 3.0.9 itself (PCRE2 JIT) is super-linear on some of the same inputs (941160: 3.4 s
 *   at 4 KB) but much faster on others thanks to PCRE's start-of-match optimizations and its match
 *   limit (941170 at 2 KB: 13 ms vs 1.8 s; 920190 at 64 KB: 63 ms vs 2.0 s).
 * - With `--linear` (V8's linear-engine fallback): 211 linear, 42 quadratic, 11 over the limit;
 *   921160, 933180, 941140, 942251 and 942370 become linear (0.4-3 s at 1 MB), 941160/941170 now
 *   pass 64 KB but not 1 MB, and a few linear ones get slower (942200-ish: 50-100 ms at 64 KB).
 * So the engine must bound the bytes an `@rx` sees (a few KB per value keeps the worst CRS rule
 * under ~0.25 s); the fallback is a partial help, not a guarantee.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompiledPattern, enableLinearRegExpFallback } from './rx.ts';

const UNITS = [
  'a',
  ' ',
  '1',
  "'",
  '"',
  '<',
  '(',
  '/',
  '\\',
  '=',
  ';',
  '-',
  '%',
  '&',
  '|',
  '$',
  '{',
  '.',
  ',',
  '\t',
  '\n',
  'a ',
  'a=',
  '0x',
  '/*',
  "' or ",
  '<a ',
  'a1',
];
const SIZES = [1024, 8192, 65536];
const BIG = 1 << 20;
const LIMIT_MS = 4000;
const LINEAR = process.argv.includes('--linear');

/** `@rx` parameters of the rule files, with file:line (same independent scanner idea as the tests). */
export function crsPatterns(dir: string): Array<{ where: string; pattern: string }> {
  const out: Array<{ where: string; pattern: string }> = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.conf'))) {
    const lines = readFileSync(join(dir, f), 'latin1').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const start = i;
      let text = lines[i]!;
      while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + lines[++i]!;
      const m = /^\s*SecRule\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(text);
      if (m === null) continue;
      const op = m[1]!.replace(/^!/, '');
      const rx = /^@rx\s(.*)$/s.exec(op);
      if (rx !== null) out.push({ where: `${f}:${start + 1}`, pattern: rx[1]! });
      else if (!op.startsWith('@')) out.push({ where: `${f}:${start + 1}`, pattern: op });
    }
  }
  return out;
}

function child(pattern: string): void {
  const p = new CompiledPattern(pattern);
  const words = [...new Set(pattern.match(/[A-Za-z]{3,}/g) ?? [])].slice(0, 6);
  for (const unit of [...UNITS, ...words.map((w) => `${w} `)]) {
    const times: number[] = [];
    for (const size of SIZES) {
      const value = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
      const t0 = performance.now();
      p.exec(value);
      times.push(performance.now() - t0);
      process.stdout.write(`${JSON.stringify({ unit, size, ms: times[times.length - 1] })}\n`);
    }
    const exp = Math.log(Math.max(times[2]!, 0.05) / Math.max(times[1]!, 0.05)) / Math.log(8);
    if (exp < 1.4) {
      const value = unit.repeat(Math.ceil(BIG / unit.length)).slice(0, BIG);
      const t0 = performance.now();
      p.exec(value);
      process.stdout.write(`${JSON.stringify({ unit, size: BIG, ms: performance.now() - t0 })}\n`);
    }
  }
}

interface Sample {
  unit: string;
  size: number;
  ms: number;
}

function measure(pattern: string): Promise<{ samples: Sample[]; timedOut?: { unit: string; size: number } }> {
  return new Promise((resolve) => {
    const args = ['--import', 'tsx', import.meta.filename, '--child', ...(LINEAR ? ['--linear'] : [])];
    const proc = spawn(process.execPath, args, {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const samples: Sample[] = [];
    let buf = '';
    let timer = setTimeout(() => proc.kill('SIGKILL'), LIMIT_MS * 3);
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl !== -1) {
        samples.push(JSON.parse(buf.slice(0, nl)) as Sample);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
      clearTimeout(timer);
      timer = setTimeout(() => proc.kill('SIGKILL'), LIMIT_MS);
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ samples });
      const last = samples[samples.length - 1];
      const next =
        last === undefined
          ? SIZES[0]!
          : last.size === BIG
            ? SIZES[0]!
            : (SIZES[SIZES.indexOf(last.size) + 1] ?? BIG);
      resolve({
        samples,
        timedOut: { unit: last?.size === BIG || last === undefined ? '?' : last.unit, size: next },
      });
    });
    proc.stdin.end(pattern, 'latin1');
  });
}

async function main(): Promise<void> {
  const dir = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '/usr/share/modsecurity-crs/rules';
  const rows: string[] = [];
  for (const { where, pattern } of crsPatterns(dir)) {
    if (pattern.includes('%{')) continue;
    const { samples, timedOut } = await measure(pattern);
    const byUnit = new Map<string, Sample[]>();
    for (const s of samples) byUnit.set(s.unit, [...(byUnit.get(s.unit) ?? []), s]);
    let worst = { unit: '', exp: 0, ms1k: 0, ms64k: 0, msBig: Number.NaN };
    for (const [unit, ss] of byUnit) {
      const t8 = ss.find((s) => s.size === 8192)?.ms ?? 0;
      const t64 = ss.find((s) => s.size === 65536)?.ms ?? 0;
      const exp = Math.log(Math.max(t64, 0.05) / Math.max(t8, 0.05)) / Math.log(8);
      const big = ss.find((s) => s.size === BIG)?.ms ?? Number.NaN;
      if (t64 > worst.ms64k) worst = { unit, exp, ms1k: ss[0]?.ms ?? 0, ms64k: t64, msBig: big };
    }
    const line = timedOut
      ? `${where}\tTIMEOUT unit=${JSON.stringify(timedOut.unit)} size=${timedOut.size} (> ${LIMIT_MS} ms)`
      : `${where}\tworst unit=${JSON.stringify(worst.unit)} 64KB=${worst.ms64k.toFixed(1)}ms exp=${worst.exp.toFixed(2)} 1MB=${Number.isNaN(worst.msBig) ? 'skipped' : `${worst.msBig.toFixed(1)}ms`}`;
    rows.push(line);
    process.stdout.write(`${line}\n`);
  }
}

if (process.argv.includes('--child')) {
  if (LINEAR) enableLinearRegExpFallback();
  child(readFileSync(0, 'latin1'));
} else {
  await main();
}
