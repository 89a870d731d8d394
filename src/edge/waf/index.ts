import { fileURLToPath } from 'node:url';
import type { WafEvent, WafSettings } from '../../contracts/snapshot.ts';
import { compileRuleSet, type RuleSet } from './engine/compile.ts';
import type { WafRequest } from './engine/request.ts';
import { type WafMatch, WafTransaction } from './engine/transaction.ts';
import type { Inspection } from './offload.ts';
import { compileOperator } from './operators/index.ts';
import { crsFiles, loadRuleFiles } from './seclang/load.ts';
import { transformation } from './transforms/index.ts';
import type { ActionRef, ConfigDirective, Directive, SourceLocation, VariableRef } from './types.ts';

export type { RuleSet } from './engine/compile.ts';
export type { WafRequest } from './engine/request.ts';
export { inspectsResponseBody, WafTransaction } from './engine/transaction.ts';

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

/** Numbers the directives made from a store's settings, for load errors that name their line. */
function lines(): () => SourceLocation {
  let line = 0;
  return () => ({ file: SETTINGS_FILE, line: ++line });
}

/**
 * The response-body engine settings of a store, as a ModSecurity user writes them: body access, the
 * inspected content types, the limit, and partial processing past it. base.conf leaves response
 * bodies off (libmodsecurity's default); these come after it, so the store's settings win. The
 * differential test's reference loads the same lines.
 */
export function responseBodyDirectives(s: WafSettings, loc = lines()): ConfigDirective[] {
  const config = (name: string, ...args: string[]): ConfigDirective => ({
    kind: 'config',
    loc: loc(),
    name,
    args,
  });
  const r = s.responseBody;
  if (!r.enabled) return [config('SecResponseBodyAccess', 'Off')];
  return [
    config('SecResponseBodyAccess', 'On'),
    // No SecResponseBodyMimeTypesClear first: base.conf names no types, and libmodsecurity 3 lets a
    // clear empty the set for good, these types included.
    config('SecResponseBodyMimeType', ...r.mimeTypes),
    config('SecResponseBodyLimit', String(r.limitBytes)),
    config('SecResponseBodyLimitAction', 'ProcessPartial'),
  ];
}

/**
 * The directives a store's settings add between crs-setup.conf and the rules: its response-body
 * settings, its paranoia level and thresholds (CRS reads them from TX at rule 901xxx), and its
 * exclusions as SecLang would write them — compile-time removals, target updates, or a phase-1 rule
 * that removes them under a path.
 */
export function settingsDirectives(s: WafSettings): { before: Directive[]; after: Directive[] } {
  const loc = lines();
  const act = (name: string, value?: string): ActionRef => (value === undefined ? { name } : { name, value });
  const before: Directive[] = [
    ...responseBodyDirectives(s, loc),
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
    const key = JSON.stringify([
      s.paranoia,
      s.inboundThreshold,
      s.outboundThreshold,
      s.exclusions,
      s.responseBody,
    ]);
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

/** TX:ANOMALY_SCORE (or another TX score) as an integer. */
function score(t: WafTransaction, name: string): number {
  const n = Number.parseInt(t.vars.collection('TX').get(name) ?? '0', 10);
  return Number.isNaN(n) ? 0 : n;
}

/**
 * The access-log form of a transaction's findings, or undefined when nothing matched. After the
 * response phases, `inbound` is the anomaly score the request phases ended with (CRS adds the
 * outbound score to TX:ANOMALY_SCORE when it blocks a response).
 */
export function wafEvent(
  t: WafTransaction,
  s: WafSettings,
  blocked: boolean,
  inbound?: number,
): WafEvent | undefined {
  const v = t.verdict();
  if (v.matches.length === 0) return undefined;
  return {
    action: blocked ? 'blocked' : 'detected',
    paranoia: s.paranoia,
    anomalyScore: inbound ?? score(t, 'anomaly_score'),
    ...(inbound === undefined ? {} : { outboundScore: score(t, 'outbound_anomaly_score') }),
    matches: v.matches.map((m: WafMatch) => ({
      id: m.id,
      phase: m.phase,
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

/** A response as the WAF's response phases see it. */
export interface WafResponse {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  /**
   * The body (Latin-1, decompressed) or its first `limitBytes` when phase 4 runs for it; empty for a
   * response without one (HEAD, 204, 304); undefined when phase 4 does not run for its type.
   */
  readonly body: string | undefined;
  /** The body was longer than what `body` holds. */
  readonly partial: boolean;
}

/**
 * Runs the response phases on a transaction whose request phases passed. `interrupted` is only a
 * response phase's: in detection-only mode the transaction may carry a request rule's would-be deny.
 */
export function inspectResponse(t: WafTransaction, s: WafSettings, r: WafResponse): Inspection {
  const inbound = score(t, 'anomaly_score');
  t.responseHeaders(r.status, r.headers);
  if (r.body !== undefined) t.responseBody(r.body, r.partial);
  const stop = t.verdict().interrupted;
  const outbound = stop !== undefined && stop.phase >= 3 ? stop : undefined;
  return {
    interrupted: outbound && { ruleId: outbound.ruleId, status: outbound.status },
    event: wafEvent(t, s, t.blocked, inbound),
    timedOut: false,
  };
}
