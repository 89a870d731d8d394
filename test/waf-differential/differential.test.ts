/**
 * The WAF differential: Triplane's edge and nginx + libmodsecurity3, both running Debian's CRS 3.3.4
 * with the same engine settings (src/edge/waf/conf/base.conf), receive the same corpus. Verdicts must
 * agree on at least 99% of requests at paranoia 1 and 2; matched rule ids are compared and every
 * disagreement is listed in the report (written under the OS temp dir, or WAF_DIFF_REPORT's dir).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import type { AccessLogRecord } from '../../src/contracts/snapshot.ts';
import { EdgeProcess, shopSnapshot, Upstream, writeSnapshot } from '../edge/harness.ts';
import { compareVerdicts, formatComparison } from './compare.ts';
import { buildCorpus } from './corpus.ts';
import { RESPONSE_CASES, RESPONSE_PREFIX, responseCorpus, responseType } from './corpus-responses.ts';
import { type Paranoia, startModSecurity } from './modsecurity.ts';
import { sendAll, type Verdict, withRuleIds } from './send.ts';

const REPORT_DIR = dirname(
  process.env.WAF_DIFF_REPORT ?? join(tmpdir(), 'triplane-waf-differential', 'reference-pl1-vs-pl2.md'),
);

/** The edge's access log, read back: request id → rule ids its WAF matched. */
function edgeRuleIds(file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  // The shipper creates the file with its first batch: until then nothing has been logged.
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as AccessLogRecord;
    out.set(
      r.requestId,
      (r.waf?.matches ?? []).map((m) => String(m.id)),
    );
  }
  return out;
}

/** A verdict's matched rule ids, each once, in order. */
const ids = (v: Verdict) => [...new Set(v.ruleIds ?? [])].sort().join(',');

/**
 * The corpus through an edge; `unlogged` requests may be missing from its access log (Node's parser
 * refuses some of the raw ones before a record exists).
 */
async function runEdge(
  paranoia: Paranoia,
  corpus: ReturnType<typeof buildCorpus>,
  mode = 'block',
  unlogged = 10,
) {
  const up = await new Upstream().start();
  // What the reference's upstream answers: "ok" (text/plain), and the response cases by name.
  up.handler = (req, res) => {
    req.resume();
    req.on('end', () => {
      const c = req.url?.startsWith(RESPONSE_PREFIX)
        ? RESPONSE_CASES.find((r) => `${RESPONSE_PREFIX}${r.name}` === req.url)
        : undefined;
      const body = Buffer.from(c ? c.body : 'ok', 'latin1');
      res.writeHead(200, {
        'content-type': c ? responseType(c) : 'text/plain',
        'content-length': body.length,
      });
      res.end(body);
    });
  };
  const edge = new EdgeProcess([]);
  const file = join(edge.dataDir, 'snapshot.json');
  const log = join(edge.dataDir, 'access.ndjson');
  const snap = shopSnapshot(1, [up.port], { waf: { mode, paranoia } });
  // Generous limits: the corpus tests the WAF, not the edge's own rate and connection limits.
  (snap.policies as Record<string, unknown>[])[0]!.limits = { maxConnectionsPerIp: 10_000 };
  writeSnapshot(file, snap);
  edge.args.push('--snapshot', file, '--access-log', log);
  await edge.start();
  try {
    const verdicts = await sendAll(`http://127.0.0.1:${edge.http}`, corpus, { concurrency: 8 });
    // The access log is shipped asynchronously; wait until every request is in it.
    let ids = new Map<string, string[]>();
    for (let i = 0; i < 100; i++) {
      ids = edgeRuleIds(log);
      if (ids.size >= verdicts.size - unlogged) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return withRuleIds(verdicts, async (id) => ids.get(id));
  } finally {
    await edge.stop();
    edge.cleanup();
    await up.kill();
  }
}

describe('WAF differential: Triplane edge vs nginx + libmodsecurity3 on the same CRS', {
  timeout: 900_000,
}, () => {
  const corpus = buildCorpus();
  const blockMode = new Map<Paranoia, Map<string, Verdict>>();
  for (const paranoia of [1, 2] as const) {
    test(`paranoia ${paranoia}: the verdicts agree on at least 99% of ${corpus.length} requests`, async (t) => {
      const ref = await startModSecurity({ paranoia });
      let reference: Map<string, Verdict>;
      try {
        reference = await withRuleIds(await sendAll(ref.url, corpus, { concurrency: 8 }), ref.ruleIdsFor);
      } finally {
        await ref.stop();
      }
      const edge = await runEdge(paranoia, corpus);
      blockMode.set(paranoia, edge);
      const cmp = compareVerdicts(reference, edge, corpus);
      const report = formatComparison(
        cmp,
        corpus,
        { a: 'nginx + libmodsecurity3', b: 'Triplane edge' },
        { a: reference, b: edge },
      );
      mkdirSync(REPORT_DIR, { recursive: true });
      const file = join(REPORT_DIR, `edge-vs-modsecurity-pl${paranoia}.md`);
      writeFileSync(file, report);
      t.diagnostic(
        `PL${paranoia}: verdict agreement ${(cmp.agreement * 100).toFixed(2)}%, ${cmp.disagreements.length} disagreements; ` +
          `rule ids identical on ${cmp.ruleIds.same}/${cmp.ruleIds.compared}; report ${file}`,
      );
      assert.ok(
        cmp.agreement >= 0.99,
        `verdict agreement ${(cmp.agreement * 100).toFixed(2)}% < 99%:\n${report.slice(0, 6000)}`,
      );
    });
  }

  for (const paranoia of [1, 2] as const) {
    test(`paranoia ${paranoia}: the response phases match the same rules on ${RESPONSE_CASES.length} responses`, async () => {
      const responses = responseCorpus();
      const ref = await startModSecurity({ paranoia });
      let reference: Map<string, Verdict>;
      try {
        const sent = await sendAll(ref.url, responses, { concurrency: 4 });
        // nginx writes a transaction's audit record after its last byte went out.
        await new Promise((r) => setTimeout(r, 500));
        reference = await withRuleIds(sent, ref.ruleIdsFor);
      } finally {
        await ref.stop();
      }
      // A deny in phase 4 comes after nginx sent the headers: the connector drops the connection or
      // lets the response finish. What ModSecurity decided is 959100 among the matched rules.
      const decided = (v: Verdict | undefined) => (v?.ruleIds ?? []).includes('959100');
      // The reference does what the CRS is for: otherwise agreeing with it would prove nothing.
      assert.deepEqual(
        responses
          .filter((r) => decided(reference.get(r.id)) !== r.expectBlocked)
          .map((r) => `${r.id}: ${reference.get(r.id)?.status} [${ids(reference.get(r.id)!)}]`),
        [],
        'ModSecurity decides to refuse the leaks and passes the rest',
      );
      const edge = await runEdge(paranoia, responses, 'block', 0);
      const differ = responses
        .filter((r) => {
          const a = reference.get(r.id)!;
          const b = edge.get(r.id)!;
          return ids(a) !== ids(b) || b.blocked !== decided(a) || (!b.blocked && b.status !== 200);
        })
        .map((r) => {
          const a = reference.get(r.id)!;
          const b = edge.get(r.id)!;
          return `${r.id}: ModSecurity ${a.status} [${ids(a)}] vs edge ${b.status} [${ids(b)}]`;
        });
      assert.deepEqual(differ, [], 'the same rules, and the edge refuses what ModSecurity decided to');
    });
  }

  test('detection-only mode passes every request on and records the rules blocking mode records', async () => {
    const blocking = blockMode.get(1);
    assert.ok(blocking, 'runs after the paranoia 1 comparison');
    const detect = await runEdge(1, corpus, 'detect');
    const blocked = corpus.filter((r) => detect.get(r.id)?.blocked);
    assert.deepEqual(
      blocked.map((r) => r.id),
      [],
      'no request is refused by the WAF in detection-only mode',
    );
    // Blocking stops at the rule that denies; detection goes on, so it may record more after it.
    const differ = corpus.filter((r) => {
      const a = blocking.get(r.id)?.ruleIds ?? [];
      const b = detect.get(r.id)?.ruleIds ?? [];
      return blocking.get(r.id)?.status === 200
        ? a.join(',') !== b.join(',')
        : !a.every((id) => b.includes(id));
    });
    assert.deepEqual(
      differ.map((r) => `${r.id}: ${blocking.get(r.id)?.ruleIds} vs ${detect.get(r.id)?.ruleIds}`),
      [],
    );
    const upstreamAnswered = corpus.filter(
      (r) => blocking.get(r.id)?.blocked && detect.get(r.id)?.status === 200,
    );
    assert.equal(
      upstreamAnswered.length,
      corpus.filter((r) => blocking.get(r.id)?.blocked).length,
      'every request blocking mode refused reached the store',
    );
  });
});
