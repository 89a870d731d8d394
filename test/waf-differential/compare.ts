/**
 * Compares two WAFs' verdicts on the same corpus (or one WAF at two paranoia levels) and writes the
 * result as a markdown report: verdict agreement, per family, each disagreement with the rule ids
 * both sides matched, and how often the matched rule ids agree.
 */
import type { CorpusRequest, Family } from './corpus.ts';
import type { Verdict } from './send.ts';

/** One request the two sides judged differently. */
export interface Disagreement {
  readonly id: string;
  readonly family: Family;
  readonly placement: string;
  readonly a: Verdict | undefined;
  readonly b: Verdict | undefined;
  readonly ruleIdsA?: readonly string[];
  readonly ruleIdsB?: readonly string[];
}

/** The outcome of comparing two sides. */
export interface Comparison {
  /** Share of requests with the same verdict, 0..1. */
  readonly agreement: number;
  readonly total: number;
  readonly disagreements: readonly Disagreement[];
  /**
   * Requests with the same verdict but a different status: e.g. one server refuses a malformed
   * request with 400 and the other lets it through, or a WAF denies with 400 instead of 403.
   */
  readonly statusDiffs: readonly Disagreement[];
  /** Among requests where both sides reported rule ids: how many had exactly the same set. */
  readonly ruleIds: { readonly compared: number; readonly same: number; readonly agreement: number };
  /** Rule ids matched on one side but not the other, with how many requests each was missing on. */
  readonly onlyA: ReadonlyMap<string, number>;
  readonly onlyB: ReadonlyMap<string, number>;
}

/** Same verdict: both answered or both did not, and both blocked or both let through. */
function sameVerdict(a: Verdict | undefined, b: Verdict | undefined): boolean {
  if (!a || !b) return a === b;
  return a.blocked === b.blocked && (a.status === 0) === (b.status === 0);
}

function bump(m: Map<string, number>, key: string) {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/** Compares the verdicts of side A and side B on every request of the corpus. */
export function compareVerdicts(
  a: ReadonlyMap<string, Verdict>,
  b: ReadonlyMap<string, Verdict>,
  corpus: readonly CorpusRequest[],
): Comparison {
  const disagreements: Disagreement[] = [];
  const statusDiffs: Disagreement[] = [];
  const onlyA = new Map<string, number>();
  const onlyB = new Map<string, number>();
  let compared = 0;
  let same = 0;
  for (const r of corpus) {
    const va = a.get(r.id);
    const vb = b.get(r.id);
    if (va?.ruleIds && vb?.ruleIds) {
      compared++;
      const setA = new Set(va.ruleIds);
      const setB = new Set(vb.ruleIds);
      for (const id of setA) if (!setB.has(id)) bump(onlyA, id);
      for (const id of setB) if (!setA.has(id)) bump(onlyB, id);
      if (setA.size === setB.size && [...setA].every((id) => setB.has(id))) same++;
    }
    const d: Disagreement = {
      id: r.id,
      family: r.family,
      placement: r.placement,
      a: va,
      b: vb,
      ...(va?.ruleIds ? { ruleIdsA: va.ruleIds } : {}),
      ...(vb?.ruleIds ? { ruleIdsB: vb.ruleIds } : {}),
    };
    if (!sameVerdict(va, vb)) disagreements.push(d);
    else if (va && vb && va.status !== vb.status) statusDiffs.push(d);
  }
  const total = corpus.length;
  return {
    agreement: total === 0 ? 1 : (total - disagreements.length) / total,
    total,
    disagreements,
    statusDiffs,
    ruleIds: { compared, same, agreement: compared === 0 ? 1 : same / compared },
    onlyA,
    onlyB,
  };
}

/** Blocked counts of one side, per family. */
export interface FamilyRow {
  readonly family: Family;
  readonly total: number;
  readonly blocked: number;
  /** Requests with `expectBlocked` set, and how many of them got the expected verdict. */
  readonly expected: number;
  readonly asExpected: number;
  /** Requests that got no answer. */
  readonly unanswered: number;
}

/** Per-family blocked counts of one side's verdicts. */
export function summarize(
  verdicts: ReadonlyMap<string, Verdict>,
  corpus: readonly CorpusRequest[],
): FamilyRow[] {
  const rows = new Map<
    Family,
    { total: number; blocked: number; expected: number; asExpected: number; unanswered: number }
  >();
  for (const r of corpus) {
    const v = verdicts.get(r.id);
    const row = rows.get(r.family) ?? { total: 0, blocked: 0, expected: 0, asExpected: 0, unanswered: 0 };
    row.total++;
    if (v?.blocked) row.blocked++;
    if (!v || v.status === 0) row.unanswered++;
    if (r.expectBlocked !== undefined) {
      row.expected++;
      if (v?.blocked === r.expectBlocked) row.asExpected++;
    }
    rows.set(r.family, row);
  }
  return [...rows].map(([family, row]) => ({ family, ...row }));
}

/** Blocked counts of one side, per family and placement (`family/placement` keys). */
export function blockedByPlacement(
  verdicts: ReadonlyMap<string, Verdict>,
  corpus: readonly CorpusRequest[],
): Map<string, { total: number; blocked: number }> {
  const out = new Map<string, { total: number; blocked: number }>();
  for (const r of corpus) {
    const key = `${r.family}/${r.placement}`;
    const row = out.get(key) ?? { total: 0, blocked: 0 };
    row.total++;
    if (verdicts.get(r.id)?.blocked) row.blocked++;
    out.set(key, row);
  }
  return out;
}

const pct = (n: number, of: number) => (of === 0 ? '–' : `${((100 * n) / of).toFixed(1)}%`);
const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

function verdictText(v: Verdict | undefined): string {
  if (!v) return 'not sent';
  if (v.status === 0) return `no answer (${v.error ?? '?'})`;
  return v.blocked ? `${v.status} blocked` : String(v.status);
}

/** The markdown table of one side's per-family counts. */
export function formatSummary(
  title: string,
  verdicts: ReadonlyMap<string, Verdict>,
  corpus: readonly CorpusRequest[],
): string {
  const lines = [
    `### ${title}`,
    '',
    '| family | requests | blocked | blocked % | as expected (of expected) | unanswered |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of summarize(verdicts, corpus)) {
    lines.push(
      `| ${row.family} | ${row.total} | ${row.blocked} | ${pct(row.blocked, row.total)} | ${row.asExpected}/${row.expected} | ${row.unanswered} |`,
    );
  }
  const fps = corpus.filter((r) => r.family === 'benign' && verdicts.get(r.id)?.blocked);
  lines.push('', `Benign requests blocked (false positives): ${fps.length}`, '');
  for (const r of fps) {
    const rules = verdicts.get(r.id)?.ruleIds?.join(', ') ?? '';
    lines.push(`- \`${r.id}\` ${r.method} ${cell(r.path.slice(0, 100))}${rules ? ` — rules ${rules}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The markdown report of a comparison between side A and side B. */
export function formatComparison(
  cmp: Comparison,
  corpus: readonly CorpusRequest[],
  names: { readonly a: string; readonly b: string },
  verdicts?: { readonly a: ReadonlyMap<string, Verdict>; readonly b: ReadonlyMap<string, Verdict> },
): string {
  const byId = new Map(corpus.map((r) => [r.id, r]));
  const lines = [
    `# WAF differential: ${names.a} vs ${names.b}`,
    '',
    `Verdict agreement: ${cmp.total - cmp.disagreements.length}/${cmp.total} (${pct(cmp.total - cmp.disagreements.length, cmp.total)})`,
    `Matched-rule-ID agreement: ${cmp.ruleIds.same}/${cmp.ruleIds.compared} requests with the same rule set (${pct(cmp.ruleIds.same, cmp.ruleIds.compared)})`,
    '',
  ];
  if (verdicts)
    lines.push(formatSummary(names.a, verdicts.a, corpus), formatSummary(names.b, verdicts.b, corpus));
  const table = (title: string, rows: readonly Disagreement[]) => {
    lines.push(`## ${title} (${rows.length})`, '');
    if (rows.length === 0) return;
    lines.push(
      `| id | family | request | ${names.a} | ${names.b} | rules ${names.a} | rules ${names.b} |`,
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const d of rows) {
      const r = byId.get(d.id);
      const req = r ? `${r.method} ${r.path.slice(0, 80)}` : '';
      lines.push(
        `| \`${d.id}\` | ${d.family} | ${cell(req)} | ${verdictText(d.a)} | ${verdictText(d.b)} | ${d.ruleIdsA?.join(' ') ?? ''} | ${d.ruleIdsB?.join(' ') ?? ''} |`,
      );
    }
    lines.push('');
  };
  table('Disagreements', cmp.disagreements);
  table('Same verdict, different status', cmp.statusDiffs);
  const top = (m: ReadonlyMap<string, number>) =>
    [...m]
      .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
      .slice(0, 25)
      .map(([id, n]) => `${id} (${n})`)
      .join(', ') || 'none';
  lines.push(
    '## Rule ids matched on one side only',
    '',
    `- only ${names.a}: ${top(cmp.onlyA)}`,
    `- only ${names.b}: ${top(cmp.onlyB)}`,
    '',
  );
  return lines.join('\n');
}
