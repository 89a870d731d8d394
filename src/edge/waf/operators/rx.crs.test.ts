import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { compileOperator } from './index.ts';
import { translatePcre } from './pcre.ts';
import { CRS_SAMPLES } from './testdata/crs-samples.ts';

const RULES_DIR = '/usr/share/modsecurity-crs/rules';

interface ScannedRule {
  readonly where: string;
  /** `id`, or `id#n` for the n-th link of a chain. */
  readonly id: string;
  readonly name: string;
  readonly param: string;
}

/**
 * A deliberately small, independent SecRule scanner (the real parser lives in ../seclang): joins `\`
 * continuation lines, then reads `SecRule VARIABLES "OPERATOR" "ACTIONS"` with `\"` escapes kept as
 * written, and numbers chain links after their head's id.
 */
function scanRules(dir: string): ScannedRule[] {
  const out: ScannedRule[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.conf'))
    .sort()) {
    const lines = readFileSync(join(dir, file), 'latin1').split('\n');
    let head = '';
    let link = 0;
    let chained = false;
    for (let i = 0; i < lines.length; i++) {
      const start = i + 1;
      let text = lines[i]!;
      while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + lines[++i]!;
      const m = /^\s*SecRule\s+\S+\s+"((?:[^"\\]|\\.)*)"\s*(?:"((?:[^"\\]|\\.)*)")?/.exec(text);
      if (m === null) continue;
      const actions = m[2] ?? '';
      const id = /\bid:(\d+)/.exec(actions)?.[1];
      if (chained) link++;
      else {
        head = id ?? `${file}:${start}`;
        link = 1;
      }
      chained = /(^|,)\s*chain\s*(,|$)/.test(actions);
      const operator = m[1]!.replace(/^!/, '');
      const named = /^@(\w+)(?:\s(.*))?$/s.exec(operator);
      out.push({
        where: `${file}:${start}`,
        id: link === 1 ? head : `${head}#${link}`,
        name: named ? named[1]! : 'rx',
        param: named ? (named[2] ?? '') : operator,
      });
    }
  }
  return out;
}

const rules = scanRules(RULES_DIR);
const rxRules = rules.filter((r) => r.name === 'rx');
const noMacros = { expand: (t: string) => t };

describe('CRS 3.3.4 rules', () => {
  test('the scanner finds the rule set (guards against an empty scan passing)', () => {
    assert.ok(rules.length > 700, `found ${rules.length} rules`);
    assert.ok(rxRules.length > 250, `found ${rxRules.length} @rx rules`);
  });

  test('every @rx (and bare) pattern compiles', () => {
    const failures: string[] = [];
    for (const r of rxRules) {
      try {
        compileOperator(
          { name: r.name, negated: false, param: r.param },
          { baseDir: RULES_DIR, loc: { file: r.where, line: 0 } },
        );
      } catch (e) {
        failures.push(`${r.where} (${r.id}): ${(e as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('every @rx pattern also translates without the i flag (for the linear-time fallback)', () => {
    const failures: string[] = [];
    for (const r of rxRules.filter((x) => !x.param.includes('%{'))) {
      try {
        new RegExp(translatePcre(r.param, { expandCase: true }).source);
      } catch (e) {
        failures.push(`${r.where}: ${(e as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('every other operator of the rule set compiles', () => {
    const failures: string[] = [];
    for (const r of rules.filter((x) => x.name !== 'rx' && x.name !== 'rbl' && x.name !== 'geoLookup')) {
      try {
        compileOperator(
          { name: r.name, negated: false, param: r.param },
          { baseDir: RULES_DIR, loc: { file: r.where, line: 0 } },
        );
      } catch (e) {
        failures.push(`${r.where} @${r.name}: ${(e as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  for (const sample of CRS_SAMPLES) {
    test(`rule ${sample.id} matches its attacks and not the look-alikes`, () => {
      const rule = rxRules.find((r) => r.id === sample.id);
      assert.ok(rule, `no @rx rule ${sample.id}`);
      const operator = compileOperator(
        { name: 'rx', negated: false, param: rule.param },
        { baseDir: RULES_DIR, loc: { file: rule.where, line: 0 } },
      );
      for (const v of sample.matching)
        assert.equal(operator.run(v, noMacros).matched, true, `should match ${JSON.stringify(v)}`);
      for (const v of sample.notMatching) {
        assert.equal(operator.run(v, noMacros).matched, false, `should not match ${JSON.stringify(v)}`);
      }
    });
  }
});
