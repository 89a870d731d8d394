/**
 * Sanity of the WAF differential's reference side: Debian's nginx + libmodsecurity3 + CRS 3.3.4 at
 * paranoia 1 and 2 answer the whole corpus, block most attacks and let most shop traffic through.
 * The numbers and every benign request the reference blocks (its real false positives) are printed;
 * the full markdown report is written under the OS temp dir (or WAF_DIFF_REPORT).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { compareVerdicts, formatComparison, summarize } from './compare.ts';
import { buildCorpus, type CorpusRequest, isAttack } from './corpus.ts';
import { childPids, type Paranoia, startModSecurity } from './modsecurity.ts';
import { sendAll, type Verdict, withRuleIds } from './send.ts';

const REPORT =
  process.env.WAF_DIFF_REPORT ?? join(tmpdir(), 'triplane-waf-differential', 'reference-pl1-vs-pl2.md');

const alive = (pid: number) => existsSync(`/proc/${pid}`);
const share = (n: number, of: number) => (of === 0 ? 1 : n / of);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Starts a reference, sends the corpus, reads the rule ids, stops it, and checks it left nothing running. */
async function run(paranoia: Paranoia, corpus: readonly CorpusRequest[]) {
  const ref = await startModSecurity({ paranoia });
  const pids = [ref.pid, ...childPids(ref.pid)];
  let verdicts: Map<string, Verdict>;
  try {
    verdicts = await withRuleIds(await sendAll(ref.url, corpus, { concurrency: 8 }), ref.ruleIdsFor);
  } finally {
    await ref.stop();
  }
  return { verdicts, leftover: pids.filter(alive), dirLeft: existsSync(ref.dir), workers: pids.length - 1 };
}

function blockedShare(verdicts: ReadonlyMap<string, Verdict>, requests: readonly CorpusRequest[]) {
  return share(requests.filter((r) => verdicts.get(r.id)?.blocked).length, requests.length);
}

describe('reference: nginx + libmodsecurity3 + Debian CRS 3.3.4', { timeout: 600_000 }, () => {
  const corpus = buildCorpus();
  const attacks = corpus.filter(isAttack);
  const meant = corpus.filter((r) => r.expectBlocked === true);
  const benign = corpus.filter((r) => r.family === 'benign');
  const runs = new Map<Paranoia, Map<string, Verdict>>();

  test('the corpus has over 1,000 requests with unique ids, about 60% attacks', () => {
    assert.ok(corpus.length >= 1000, `${corpus.length} requests`);
    assert.equal(new Set(corpus.map((r) => r.id)).size, corpus.length);
    const attackShare = attacks.length / corpus.length;
    assert.ok(attackShare > 0.55 && attackShare < 0.7, `attack share ${pct(attackShare)}`);
    assert.deepEqual(buildCorpus(), corpus, 'the corpus is deterministic');
  });

  for (const paranoia of [1, 2] as const) {
    test(`PL${paranoia}: answers every request and leaves no process behind`, async (t) => {
      const { verdicts, leftover, dirLeft, workers } = await run(paranoia, corpus);
      runs.set(paranoia, verdicts);
      assert.ok(workers >= 1, 'nginx had worker processes');
      assert.deepEqual(leftover, [], 'nginx master and workers have exited');
      assert.equal(dirLeft, false, 'the temporary directory is removed');
      const unanswered = corpus.filter((r) => (verdicts.get(r.id)?.status ?? 0) === 0).map((r) => r.id);
      assert.deepEqual(unanswered, []);
      // Every 403 comes from CRS's anomaly evaluation, and the audit log tells which rules matched.
      const blockedWithoutEvaluation = corpus
        .filter((r) => verdicts.get(r.id)?.blocked && !verdicts.get(r.id)?.ruleIds?.includes('949110'))
        .map((r) => r.id);
      assert.deepEqual(blockedWithoutEvaluation, []);

      for (const row of summarize(verdicts, corpus)) {
        t.diagnostic(
          `PL${paranoia} ${row.family.padEnd(16)} blocked ${String(row.blocked).padStart(3)}/${String(row.total).padEnd(3)} ${pct(share(row.blocked, row.total)).padStart(6)}  as expected ${row.asExpected}/${row.expected}`,
        );
      }
      const fps = benign.filter((r) => verdicts.get(r.id)?.blocked);
      t.diagnostic(`PL${paranoia} benign blocked (false positives): ${fps.length}/${benign.length}`);
      for (const r of fps)
        t.diagnostic(
          `  FP ${r.id} ${r.method} ${r.path.slice(0, 70)} rules ${verdicts.get(r.id)?.ruleIds?.join(',')}`,
        );
    });
  }

  test('PL1: blocks most attacks where CRS looks, in every family, and passes most shop traffic', () => {
    const v = runs.get(1);
    assert.ok(v, 'the PL1 run finished');
    const attackShare = blockedShare(v, attacks);
    const meantShare = blockedShare(v, meant);
    assert.ok(attackShare >= 0.8, `attacks blocked at PL1: ${pct(attackShare)}`);
    assert.ok(meantShare >= 0.9, `attacks placed where CRS looks, blocked at PL1: ${pct(meantShare)}`);
    // A family far below the others means a rule file did not load or a body processor is off.
    const weak = [...new Set(meant.map((r) => r.family))]
      .map(
        (family) =>
          [
            family,
            blockedShare(
              v,
              meant.filter((r) => r.family === family),
            ),
          ] as const,
      )
      .filter(([, s]) => s < 0.7);
    assert.deepEqual(weak, []);
    const fpShare = blockedShare(v, benign);
    assert.ok(fpShare <= 0.08, `benign blocked at PL1: ${pct(fpShare)}`);
  });

  test('PL2 blocks everything PL1 blocks, and more, and writes the PL1 vs PL2 report', (t) => {
    const pl1 = runs.get(1);
    const pl2 = runs.get(2);
    assert.ok(pl1 && pl2, 'both runs finished');
    const cmp = compareVerdicts(pl1, pl2, corpus);
    mkdirSync(dirname(REPORT), { recursive: true });
    writeFileSync(REPORT, formatComparison(cmp, corpus, { a: 'PL1', b: 'PL2' }, { a: pl1, b: pl2 }));
    t.diagnostic(`report: ${REPORT}`);
    t.diagnostic(
      `PL1 vs PL2 verdict agreement ${pct(cmp.agreement)}, rule-id agreement ${pct(cmp.ruleIds.agreement)}`,
    );
    const onlyPl1 = cmp.disagreements.filter((d) => d.a?.blocked).map((d) => d.id);
    assert.deepEqual(onlyPl1, [], 'anomaly scores only grow with the paranoia level');
    assert.deepEqual([...cmp.onlyA.keys()], [], 'no rule matches at PL1 that does not at PL2');
    // The paranoia setting took effect: PL2 rules matched, and PL2 blocks more.
    assert.ok(cmp.onlyB.size > 0, 'rules that only run at PL2 matched');
    assert.ok(cmp.disagreements.length > 0, 'PL2 blocks requests PL1 lets through');
    assert.ok(blockedShare(pl2, attacks) > blockedShare(pl1, attacks));
    const fpShare = blockedShare(pl2, benign);
    assert.ok(fpShare <= 0.5, `benign blocked at PL2: ${pct(fpShare)}`);
  });
});
