import type { VariableRef } from '../types.ts';
import { type BodyProcessor, processBody } from './body.ts';
import { collectionSlot, type Entry, Variables } from './collections.ts';
import {
  type Disruptive,
  idMatcher,
  type PhaseItem,
  type Rule,
  type RuleSet,
  type SetVar,
  type TransformChain,
} from './compile.ts';
import { requestVariables, type WafRequest } from './request.ts';

/** One rule that matched, as the access log and the metrics see it. */
export interface WafMatch {
  readonly id: number;
  readonly phase: number;
  readonly msg: string;
  readonly data: string;
  readonly severity: string | undefined;
  /** Variable that matched last, e.g. `ARGS:q`. */
  readonly variable: string;
  readonly tags: readonly string[];
}

/** What the WAF decided for a transaction so far. */
export interface WafVerdict {
  /** Set when a rule denied the request (in detection-only mode: what would have happened). */
  readonly interrupted:
    | { readonly ruleId: number; readonly status: number; readonly phase: number }
    | undefined;
  readonly matches: readonly WafMatch[];
}

/** Collections keyed by name whose keys are dictionary-like (TX and the persistent ones). */
const COLLECTIONS = new Set([
  'ARGS',
  'ARGS_GET',
  'ARGS_POST',
  'ARGS_NAMES',
  'ARGS_GET_NAMES',
  'ARGS_POST_NAMES',
  'REQUEST_HEADERS',
  'REQUEST_HEADERS_NAMES',
  'REQUEST_COOKIES',
  'REQUEST_COOKIES_NAMES',
  'FILES',
  'FILES_NAMES',
  'FILES_SIZES',
  'MULTIPART_PART_HEADERS',
  'TX',
  'IP',
  'GLOBAL',
  'SESSION',
  'USER',
  'RESOURCE',
  'MATCHED_VARS',
  'MATCHED_VARS_NAMES',
  'RESPONSE_HEADERS',
  'RESPONSE_HEADERS_NAMES',
  'XML',
  'GEO',
  'ENV',
  'RULE',
]);

const MAX_CAPTURES = 10;

const ACTION_ENTRY: Entry = { key: '', value: '' };
const NO_ENTRIES: readonly Entry[] = [];

/**
 * One request's run through a rule set, phase by phase, with ModSecurity v3's semantics: setvar runs
 * for every matching value (even if a chain later fails), everything else once the whole chain
 * matched; a disruptive action in detection-only mode is recorded, not applied.
 */
export class WafTransaction {
  readonly vars = new Variables();
  private readonly matches: WafMatch[] = [];
  private interrupted: WafVerdict['interrupted'];
  private allowed = false;
  private bodyProcessor: BodyProcessor | undefined;
  private readonly removedIds: ((id: number) => boolean)[] = [];
  private readonly removedTags: string[] = [];
  private readonly removedTargets: { rule: (r: Rule) => boolean; target: string }[] = [];
  private ruleEngine: 'On' | 'Off' | 'DetectionOnly';
  private requestBodyAccess: boolean;
  /** Per value, its transformation results by chain id (see TransformChain). */
  private readonly tcache = new Map<Entry, (string | undefined)[]>();
  /** MATCHED_VARS has had values added since it was last emptied. */
  private matchedVars = false;
  private readonly scalarEntries = new Map<string, Entry>();
  private current: Rule | undefined;
  /** Reused for every rule: the values it looks at and the variable each came from. */
  private readonly scratchTargets: Target[] = [];
  private readonly scratchEntries: Entry[] = [];
  /** One context for every operator call: no closure per value on the hot path. */
  private readonly opContext = { expand: (t: string) => this.expand(t) };

  constructor(
    private readonly rules: RuleSet,
    private readonly detectionOnly = false,
  ) {
    this.ruleEngine = rules.config.ruleEngine;
    this.requestBodyAccess = rules.config.requestBodyAccess;
  }

  /** What has been decided so far. */
  verdict(): WafVerdict {
    return { interrupted: this.interrupted, matches: this.matches };
  }

  /** Whether the request must be stopped now (never in detection-only mode). */
  get blocked(): boolean {
    return this.interrupted !== undefined && this.enforcing;
  }

  private get enforcing(): boolean {
    return !this.detectionOnly && this.ruleEngine === 'On';
  }

  /** Phase 1: request line and headers. */
  requestHeaders(r: WafRequest): WafVerdict {
    requestVariables(this.vars, r);
    this.bodyProcessor = this.vars.scalar('REQBODY_PROCESSOR') as BodyProcessor | undefined;
    this.run(1);
    return this.verdict();
  }

  /** Phase 2: the request body (a Latin-1 string; empty when there is none). */
  requestBody(body: string): WafVerdict {
    if (this.blocked || this.allowed || this.ruleEngine === 'Off') return this.verdict();
    const contentType = this.vars.collection('REQUEST_HEADERS').get('content-type');
    if (this.requestBodyAccess) {
      processBody(this.vars, this.bodyProcessor, body, contentType);
      if (this.bodyProcessor) this.vars.setScalar('REQBODY_PROCESSOR', this.bodyProcessor);
      if (body.length > 0) {
        this.vars.setScalar('REQUEST_BODY', body);
        this.vars.setScalar('REQUEST_BODY_LENGTH', String(body.length));
      }
    } else {
      this.vars.setScalar('REQBODY_ERROR', '0');
    }
    this.run(2);
    return this.verdict();
  }

  /** Phases 3 and 4 at once: status, headers and (when there is one) body. */
  response(
    status: number,
    headers: readonly (readonly [string, string])[],
    body: string | undefined,
  ): WafVerdict {
    this.responseHeaders(status, headers);
    if (body !== undefined) this.responseBody(body);
    return this.verdict();
  }

  /** Phase 3: the response status and headers. */
  responseHeaders(
    status: number,
    headers: readonly (readonly [string, string])[],
    protocol = 'HTTP/1.1',
  ): WafVerdict {
    if (this.blocked || this.ruleEngine === 'Off') return this.verdict();
    this.vars.setScalar('RESPONSE_STATUS', String(status));
    this.vars.setScalar('RESPONSE_PROTOCOL', protocol);
    for (const [k, val] of headers) {
      this.vars.collection('RESPONSE_HEADERS').add(k, val);
      this.vars.collection('RESPONSE_HEADERS_NAMES').add(k, k);
      if (k.toLowerCase() === 'content-type')
        this.vars.setScalar('RESPONSE_CONTENT_TYPE', val.split(';')[0]!);
    }
    this.run(3);
    return this.verdict();
  }

  /**
   * Whether phase 4 runs for this response: response body access on and its content type listed
   * (libmodsecurity skips the whole phase otherwise, its blocking evaluation included).
   */
  get inspectsResponseBody(): boolean {
    return inspectsResponseBody(this.rules.config, this.vars.scalar('RESPONSE_CONTENT_TYPE'));
  }

  /**
   * Phase 4: the response body (a Latin-1 string; empty when the response has none), or its first
   * bytes when it was longer than the limit (`partial`: OUTBOUND_DATA_ERROR is 1, as after
   * libmodsecurity's ProcessPartial).
   */
  responseBody(body: string, partial = false): WafVerdict {
    if (this.blocked || this.ruleEngine === 'Off' || !this.inspectsResponseBody) return this.verdict();
    this.vars.setScalar('OUTBOUND_DATA_ERROR', partial ? '1' : '0');
    this.vars.setScalar('RESPONSE_BODY', body);
    this.vars.setScalar('RESPONSE_CONTENT_LENGTH', String(body.length));
    this.run(4);
    return this.verdict();
  }

  /**
   * Forgets the transformation results cached for the request phases. A transaction kept for its
   * response holds its variables, not the several transformed copies of a large body.
   */
  compact(): void {
    this.tcache.clear();
    this.scalarEntries.clear();
  }

  private run(phase: number): void {
    if (this.ruleEngine === 'Off' || this.blocked || (this.allowed && phase <= 2)) return;
    const items = this.rules.phases[phase]!;
    const jumps = markerJumps(items);
    let skip = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.kind === 'marker') continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      const rule = it.rule;
      if (this.removedIds.length > 0 && this.removedIds.some((m) => m(rule.id))) continue;
      if (this.removedTags.length > 0 && rule.tags.some((t) => this.removedTags.some((p) => p === t)))
        continue;
      // A rule whose variables this request does not have is never run.
      if (rule.variables.length > 0 && !this.hasTargets(rule)) continue;
      if (this.matchedVars) {
        this.vars.existing('MATCHED_VARS')?.clear();
        this.vars.existing('MATCHED_VARS_NAMES')?.clear();
        this.matchedVars = false;
      }
      if (!this.evaluate(rule, rule)) continue;
      this.afterMatch(rule);
      if (this.blocked || (this.allowed && phase <= 2)) return;
      // To the marker (the rest of the phase when there is none after this rule): the CRS skips whole
      // paranoia levels this way, and walking them item by item cost more than the rules run.
      if (rule.skipAfter !== undefined) i = jumps[i]!;
      skip = rule.skip;
    }
  }

  /** Whether any of the rule's variables has a value in this request (a count always has one). */
  private hasTargets(rule: Rule): boolean {
    for (const tg of targetsOf(rule).targets) {
      if (tg.count) return true;
      if (tg.isCollection) {
        if ((this.vars.existingAt(tg.slot)?.entries.length ?? 0) > 0) return true;
      } else if (this.vars.scalarUpper(tg.coll) !== undefined) return true;
    }
    return false;
  }

  /** One link: true when it (and the rest of its chain) matched. */
  private evaluate(rule: Rule, head: Rule): boolean {
    this.current = head;
    let matched = false;
    const targets = this.scratchTargets;
    const entries = this.scratchEntries;
    targets.length = 0;
    entries.length = 0;
    // A SecAction has no variables and always matches: it runs once, on nothing.
    if (rule.variables.length === 0) {
      targets.push(ACTION_TARGET);
      entries.push(ACTION_ENTRY);
    } else this.values(rule, head, targets, entries);
    const negated = rule.operatorRef.negated;
    const chain = rule.transformChain;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (chain === undefined) {
        if (this.test(rule, negated, entry.value, targets[i]!, entry)) matched = true;
        continue;
      }
      if (!rule.multiMatch) {
        if (this.test(rule, negated, this.transformed(entry, chain), targets[i]!, entry)) matched = true;
        continue;
      }
      // multiMatch: the value before any transformation, then after each step.
      if (this.test(rule, negated, entry.value, targets[i]!, entry)) matched = true;
      const steps: TransformChain[] = [];
      for (let c: TransformChain | undefined = chain; c; c = c.parent) steps.push(c);
      for (let k = steps.length - 1; k >= 0; k--) {
        if (this.test(rule, negated, this.transformed(entry, steps[k]!), targets[i]!, entry)) matched = true;
      }
    }
    if (!matched) return false;
    return rule.chain ? this.evaluate(rule.chain, head) : true;
  }

  /** Runs the operator on one value; on a match records it and runs the rule's setvars. */
  private test(rule: Rule, negated: boolean, value: string, tg: Target, entry: Entry): boolean {
    const r = rule.operator.run(value, this.opContext);
    if (negated ? r.matched : !r.matched) return false;
    if (rule.capture && r.captures && !negated) {
      const tx = this.vars.collection('TX');
      for (let i = 0; i < Math.min(MAX_CAPTURES, r.captures.length); i++)
        tx.set(String(i), r.captures[i] ?? '');
    }
    const name = tg.isCollection ? `${tg.coll}:${entry.key}` : tg.coll;
    this.vars.setScalarUpper('MATCHED_VAR', value);
    this.vars.setScalarUpper('MATCHED_VAR_NAME', name);
    this.vars.collection('MATCHED_VARS').add(name, value);
    this.vars.collection('MATCHED_VARS_NAMES').add(name, name);
    this.matchedVars = true;
    for (const sv of rule.setvars) this.setvar(sv);
    return true;
  }

  private afterMatch(head: Rule): void {
    for (let link: Rule | undefined = head; link; link = link.chain) {
      for (const c of link.ctls) this.ctl(c.name, c.value);
    }
    const disruptive: Disruptive | undefined =
      head.disruptive === 'block' ? this.rules.defaults[head.phase] : head.disruptive;
    if (head.log) {
      this.matches.push({
        id: head.id,
        phase: head.phase,
        msg: head.msg === undefined ? '' : this.expand(head.msg),
        data: head.logdata === undefined ? '' : this.expand(head.logdata).slice(0, 512),
        severity: head.severity,
        variable: this.vars.scalar('MATCHED_VAR_NAME') ?? '',
        tags: head.tags,
      });
    }
    if (disruptive === 'deny' || disruptive === 'drop' || disruptive === 'redirect') {
      if (this.interrupted === undefined)
        this.interrupted = { ruleId: head.id, status: head.status ?? 403, phase: head.phase };
    } else if (disruptive === 'allow' && this.enforcing) this.allowed = true;
  }

  private ctl(name: string, value: string): void {
    switch (name) {
      case 'ruleRemoveById':
        this.removedIds.push(idMatcher([value]));
        break;
      case 'ruleRemoveByTag':
        this.removedTags.push(value);
        break;
      case 'ruleRemoveTargetById': {
        const [id, target] = splitOnce(value, ';');
        const m = idMatcher([id]);
        this.removedTargets.push({ rule: (r) => m(r.id), target: target.toLowerCase() });
        break;
      }
      case 'ruleRemoveTargetByTag': {
        const [tag, target] = splitOnce(value, ';');
        this.removedTargets.push({ rule: (r) => r.tags.includes(tag), target: target.toLowerCase() });
        break;
      }
      case 'ruleEngine':
        this.ruleEngine = value === 'Off' ? 'Off' : value === 'DetectionOnly' ? 'DetectionOnly' : 'On';
        break;
      case 'requestBodyProcessor':
        this.bodyProcessor = value.toUpperCase() as BodyProcessor;
        break;
      case 'requestBodyAccess':
        this.requestBodyAccess = value.toLowerCase() === 'on' || value.toLowerCase() === 'true';
        break;
      default:
        // auditEngine, auditLogParts, forceRequestBodyVariable, requestBodyLimit: about logging and
        // buffering, which the edge does its own way.
        break;
    }
  }

  private setvar(s: SetVar): void {
    const c = this.vars.collection(s.collection);
    const name = this.expand(s.name);
    if (s.op === 'delete') {
      c.remove(name);
      return;
    }
    const value = this.expand(s.value);
    if (s.op === 'set') {
      c.set(name, value);
      return;
    }
    const cur = toInt(c.get(name));
    const n = toInt(value);
    c.set(name, String(s.op === 'add' ? cur + n : cur - n));
  }

  /** Every value the rule's variables name, exclusions applied, into `targets`/`entries` (parallel). */
  private values(rule: Rule, head: Rule, targets: Target[], entries: Entry[]): void {
    const plan = targetsOf(rule);
    const removed =
      this.removedTargets.length === 0
        ? undefined
        : this.removedTargets.filter((t) => t.rule(head)).map((t) => t.target);
    for (const tg of plan.targets) {
      if (removed && tg.selector === undefined && removed.includes(tg.lower)) continue;
      if (!tg.isCollection) {
        const s = this.vars.scalarUpper(tg.coll);
        if (tg.count) {
          targets.push(tg);
          entries.push({ key: tg.coll, value: s === undefined ? '0' : '1' });
          continue;
        }
        if (s === undefined) continue;
        let e = this.scalarEntries.get(tg.coll);
        if (!e || e.value !== s) {
          e = { key: tg.coll, value: s };
          this.scalarEntries.set(tg.coll, e);
        }
        targets.push(tg);
        entries.push(e);
        continue;
      }
      const c = this.vars.existingAt(tg.slot);
      let list: readonly Entry[];
      if (!c) list = NO_ENTRIES;
      else if (tg.selector === undefined) list = c.entries;
      else if (typeof tg.selector === 'string') list = c.byLowerKey(tg.selector);
      else {
        const re = tg.selector;
        list = c.entries.filter((e) => re.test(e.key));
      }
      if (tg.count) {
        targets.push(tg);
        entries.push({ key: tg.coll, value: String(list.length) });
        continue;
      }
      if (list.length === 0) continue;
      const ex = plan.exclusions.get(tg.coll);
      for (const e of list) {
        if (ex && excluded(ex, e.key)) continue;
        if (removed && removed.length > 0 && removed.includes(`${tg.lower}:${e.key.toLowerCase()}`)) continue;
        targets.push(tg);
        entries.push(e);
      }
    }
  }

  /** A value after a chain of transformations, each prefix of the chain computed once per value. */
  private transformed(e: Entry, chain: TransformChain): string {
    let results = this.tcache.get(e);
    if (results === undefined) {
      results = new Array<string | undefined>(this.rules.transformChains);
      this.tcache.set(e, results);
    }
    return applyChain(results, e.value, chain);
  }

  /** `%{tx.score}`, `%{MATCHED_VAR}`, `%{REQUEST_HEADERS.host}`, `%{rule.id}` … expanded. */
  expand(text: string): string {
    if (text.indexOf('%{') < 0) return text;
    const parts = template(text);
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : this.macro(p);
    return out;
  }

  private macro(m: Macro): string {
    if (m.coll === 'RULE' && m.key !== undefined) {
      const r = this.current;
      const k = m.key.toLowerCase();
      if (k === 'id') return String(r?.id ?? '');
      if (k === 'msg') return r?.msg === undefined ? '' : r.msg;
      if (k === 'severity') return r?.severity ?? '';
      return '';
    }
    if (m.key === undefined) return this.vars.scalarUpper(m.coll) ?? '';
    return this.vars.existing(m.coll)?.get(m.key) ?? '';
  }
}

/** One `%{…}` of a text: the collection (upper-case) and the key after the first dot. */
interface Macro {
  readonly coll: string;
  readonly key: string | undefined;
}

const templates = new Map<string, readonly (string | Macro)[]>();

/**
 * A text split into literal parts and macros, once per distinct text: the CRS expands the same
 * few hundred msg, logdata, setvar and operator texts on every request.
 */
function template(text: string): readonly (string | Macro)[] {
  let parts = templates.get(text);
  if (parts) return parts;
  const out: (string | Macro)[] = [];
  let at = 0;
  for (const m of text.matchAll(/%\{([^}]+)\}/g)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    const ref = m[1]!;
    const dot = ref.indexOf('.');
    out.push({
      coll: (dot < 0 ? ref : ref.slice(0, dot)).toUpperCase(),
      key: dot < 0 ? undefined : ref.slice(dot + 1),
    });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  parts = out;
  // Texts come from the rule sets loaded, so the table stays small; the bound is a safety net.
  if (templates.size >= 4096) templates.clear();
  templates.set(text, parts);
  return parts;
}

/**
 * Whether phase 4 runs for a response of this content type (the part before `;`): body access on
 * and the type listed, or no SecResponseBodyMimeType at all. Types compare case-insensitively.
 */
export function inspectsResponseBody(config: RuleSet['config'], contentType: string | undefined): boolean {
  if (!config.responseBodyAccess) return false;
  const listed = config.responseBodyMimeTypes;
  return listed === undefined || listed.includes((contentType ?? '').trim().toLowerCase());
}

/** `chain` applied to `value`, reusing and filling `results` (by chain id) on the way. */
function applyChain(results: (string | undefined)[], value: string, chain: TransformChain): string {
  const done = results[chain.id];
  if (done !== undefined) return done;
  const input = chain.parent === undefined ? value : applyChain(results, value, chain.parent);
  const out = chain.step(input);
  results[chain.id] = out;
  return out;
}

const jumpTables = new WeakMap<readonly PhaseItem[], Int32Array>();

/**
 * For each rule of a phase with `skipAfter`, the index of the first marker of that name after it,
 * or the end of the phase when there is none (ModSecurity then skips the rest of the phase).
 */
function markerJumps(items: readonly PhaseItem[]): Int32Array {
  let jumps = jumpTables.get(items);
  if (jumps) return jumps;
  jumps = new Int32Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (it.kind !== 'rule' || it.rule.skipAfter === undefined) continue;
    let j = i + 1;
    while (j < items.length) {
      const m = items[j]!;
      if (m.kind === 'marker' && m.name === it.rule.skipAfter) break;
      j++;
    }
    jumps[i] = j;
  }
  jumpTables.set(items, jumps);
  return jumps;
}

/** A rule's variables prepared once: selectors lower-cased or compiled, exclusions grouped. */
interface Target {
  readonly coll: string;
  /** The collection's slot (see collectionSlot). */
  readonly slot: number;
  readonly lower: string;
  readonly isCollection: boolean;
  readonly count: boolean;
  readonly selector: string | RegExp | undefined;
}

interface Exclusion {
  all: boolean;
  readonly keys: Set<string>;
  readonly regexes: RegExp[];
}

interface Plan {
  readonly targets: readonly Target[];
  readonly exclusions: ReadonlyMap<string, Exclusion>;
}

const plans = new WeakMap<Rule, Plan>();

const ACTION_TARGET: Target = {
  coll: '',
  slot: -1,
  lower: '',
  isCollection: false,
  count: false,
  selector: undefined,
};

/** Variable regexes (`ARGS:/^id_/`) compare case-insensitively, like ModSecurity's collection keys. */
function selectorOf(ref: VariableRef): string | RegExp | undefined {
  const s = ref.selector;
  if (s === undefined) return undefined;
  return typeof s === 'string' ? s.toLowerCase() : new RegExp(s.regex, 'i');
}

function targetsOf(rule: Rule): Plan {
  let p = plans.get(rule);
  if (p) return p;
  const targets: Target[] = [];
  const exclusions = new Map<string, Exclusion>();
  for (const ref of rule.variables) {
    const coll = ref.collection.toUpperCase();
    if (ref.exclude) {
      let ex = exclusions.get(coll);
      if (!ex) {
        ex = { all: false, keys: new Set(), regexes: [] };
        exclusions.set(coll, ex);
      }
      const sel = selectorOf(ref);
      if (sel === undefined) ex.all = true;
      else if (typeof sel === 'string') ex.keys.add(sel);
      else ex.regexes.push(sel);
      continue;
    }
    targets.push({
      coll,
      slot: collectionSlot(coll),
      lower: coll.toLowerCase(),
      isCollection: COLLECTIONS.has(coll),
      count: ref.count,
      selector: selectorOf(ref),
    });
  }
  p = { targets, exclusions };
  plans.set(rule, p);
  return p;
}

function excluded(ex: Exclusion, key: string): boolean {
  if (ex.all) return true;
  if (ex.keys.size > 0 && ex.keys.has(key.toLowerCase())) return true;
  for (const r of ex.regexes) if (r.test(key)) return true;
  return false;
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

/** ModSecurity's integer reading: leading integer, anything else 0. */
function toInt(s: string | undefined): number {
  const n = Number.parseInt(s ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
}
