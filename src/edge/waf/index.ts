import { fileURLToPath } from 'node:url';
import type { WafEvent, WafSettings } from '../../contracts/snapshot.ts';
import { compileRuleSet, type RuleSet } from './engine/compile.ts';
import type { WafRequest } from './engine/request.ts';
import { type WafMatch, WafTransaction } from './engine/transaction.ts';
import { compileOperator } from './operators/index.ts';
import { crsFiles, loadRuleFiles } from './seclang/load.ts';
import { transformation } from './transforms/index.ts';
import type { ActionRef, Directive, SourceLocation, VariableRef } from './types.ts';

export type { RuleSet } from './engine/compile.ts';
export type { WafRequest } from './engine/request.ts';
export { WafTransaction } from './engine/transaction.ts';

/** The engine settings file loaded before the CRS (the differential test's reference loads it too). */
export const BASE_CONF = fileURLToPath(new URL('./conf/base.conf', import.meta.url));

/** Where the Core Rule Set is read from: Debian's `modsecurity-crs` by default. */
export interface CrsLocation {
  /** @default /etc/modsecurity/crs */
  readonly setupDir?: string;
  /** @default /usr/share/modsecurity-crs/rules */
  readonly rulesDir?: string;
}

const SETTINGS_FILE = '(store waf settings)';

/**
 * The directives a store's settings add between crs-setup.conf and the rules: its paranoia level
 * and thresholds (CRS reads them from TX at rule 901xxx), and its exclusions as SecLang would write
 * them — compile-time removals, target updates, or a phase-1 rule that removes them under a path.
 */
export function settingsDirectives(s: WafSettings): { before: Directive[]; after: Directive[] } {
  let line = 0;
  const loc = (): SourceLocation => ({ file: SETTINGS_FILE, line: ++line });
  const act = (name: string, value?: string): ActionRef => (value === undefined ? { name } : { name, value });
  const before: Directive[] = [
    {
      kind: 'SecAction',
      loc: loc(),
      actions: [
        act('id', '900000'),
        act('phase', '1'),
        act('nolog'),
        act('pass'),
        act('t', 'none'),
        act('setvar', `tx.paranoia_level=${s.paranoia}`),
      ],
    },
    {
      kind: 'SecAction',
      loc: loc(),
      actions: [
        act('id', '900110'),
        act('phase', '1'),
        act('nolog'),
        act('pass'),
        act('t', 'none'),
        act('setvar', `tx.inbound_anomaly_score_threshold=${s.inboundThreshold}`),
        act('setvar', `tx.outbound_anomaly_score_threshold=${s.outboundThreshold}`),
      ],
    },
  ];
  const after: Directive[] = [];
  let pathRule = 1_000_000;
  for (const e of s.exclusions) {
    const targets: VariableRef[] = e.targets.map((t) => {
      const colon = t.indexOf(':');
      return colon < 0
        ? { collection: t, exclude: true, count: false }
        : { collection: t.slice(0, colon), selector: t.slice(colon + 1), exclude: true, count: false };
    });
    if (e.pathPrefix === undefined) {
      if (targets.length === 0) {
        if (e.ruleIds.length > 0) after.push({ kind: 'SecRuleRemoveById', loc: loc(), args: e.ruleIds });
        for (const tag of e.tags) after.push({ kind: 'SecRuleRemoveByTag', loc: loc(), args: [tag] });
      } else {
        for (const id of e.ruleIds)
          after.push({ kind: 'SecRuleUpdateTargetById', loc: loc(), target: id, variables: targets });
        for (const tag of e.tags)
          after.push({ kind: 'SecRuleUpdateTargetByTag', loc: loc(), target: tag, variables: targets });
      }
      continue;
    }
    const ctls: ActionRef[] = [];
    if (targets.length === 0) {
      for (const id of e.ruleIds) ctls.push(act('ctl', `ruleRemoveById=${id}`));
      for (const tag of e.tags) ctls.push(act('ctl', `ruleRemoveByTag=${tag}`));
    } else {
      for (const t of e.targets) {
        for (const id of e.ruleIds) ctls.push(act('ctl', `ruleRemoveTargetById=${id};${t}`));
        for (const tag of e.tags) ctls.push(act('ctl', `ruleRemoveTargetByTag=${tag};${t}`));
      }
    }
    before.push({
      kind: 'SecRule',
      loc: loc(),
      variables: [{ collection: 'REQUEST_FILENAME', exclude: false, count: false }],
      operator: { name: 'beginsWith', negated: false, param: e.pathPrefix },
      actions: [
        act('id', String(pathRule++)),
        act('phase', '1'),
        act('pass'),
        act('nolog'),
        act('t', 'none'),
        ...ctls,
      ],
      chain: [],
    });
  }
  return { before, after };
}

/**
 * The Core Rule Set, parsed once per process and compiled once per distinct store settings: stores
 * with the same paranoia, thresholds and exclusions share one rule set.
 */
export class WafRules {
  private parsed: { setup: Directive[]; rules: Directive[] } | undefined;
  private readonly compiled = new Map<string, RuleSet>();

  constructor(private readonly crs: CrsLocation = {}) {}

  /** The compiled rule set for these settings (parsing and compiling on first use). */
  forSettings(s: WafSettings): RuleSet {
    const key = JSON.stringify([s.paranoia, s.inboundThreshold, s.outboundThreshold, s.exclusions]);
    let rs = this.compiled.get(key);
    if (!rs) {
      const { setup, rules } = this.load();
      const extra = settingsDirectives(s);
      rs = compileRuleSet([...setup, ...extra.before, ...rules, ...extra.after], {
        compileOperator,
        transformation,
      });
      this.compiled.set(key, rs);
    }
    return rs;
  }

  private load(): { setup: Directive[]; rules: Directive[] } {
    if (!this.parsed) {
      const [setupFile, ...ruleFiles] = crsFiles(this.crs);
      this.parsed = {
        setup: loadRuleFiles([BASE_CONF, setupFile!]),
        rules: loadRuleFiles(ruleFiles),
      };
    }
    return this.parsed;
  }
}

/** The access-log form of a transaction's findings, or undefined when nothing matched. */
export function wafEvent(t: WafTransaction, s: WafSettings, blocked: boolean): WafEvent | undefined {
  const v = t.verdict();
  if (v.matches.length === 0) return undefined;
  const score = Number.parseInt(t.vars.collection('TX').get('anomaly_score') ?? '0', 10);
  return {
    action: blocked ? 'blocked' : 'detected',
    paranoia: s.paranoia,
    anomalyScore: Number.isNaN(score) ? 0 : score,
    matches: v.matches.map((m: WafMatch) => ({
      id: m.id,
      msg: m.msg,
      data: m.data,
      variable: m.variable,
      severity: m.severity ?? null,
    })),
  };
}

/** Runs the request phases for a request whose body is already read; the finished transaction. */
export function inspectRequest(rules: RuleSet, s: WafSettings, r: WafRequest, body: string): WafTransaction {
  const t = new WafTransaction(rules, s.mode !== 'block');
  t.requestHeaders(r);
  if (!t.blocked) t.requestBody(body);
  return t;
}
