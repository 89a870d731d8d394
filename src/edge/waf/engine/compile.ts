import { dirname } from 'node:path';
import type {
  ActionRef,
  CompiledOperator,
  Directive,
  OperatorCompileContext,
  OperatorRef,
  SecRuleDirective,
  SourceLocation,
  Transformation,
  VariableRef,
} from '../types.ts';

/** Compiles an operator once per rule set; supplied by `src/edge/waf/operators`. */
export type OperatorCompiler = (ref: OperatorRef, ctx: OperatorCompileContext) => CompiledOperator;
/** Looks up a transformation by name; supplied by `src/edge/waf/transforms`. */
export type TransformationLookup = (name: string) => Transformation | 'none' | undefined;

/** `setvar:tx.score=+5` as data: the collection, the name and value still with their macros. */
export interface SetVar {
  readonly collection: string;
  readonly name: string;
  readonly op: 'set' | 'add' | 'sub' | 'delete';
  readonly value: string;
}

/** `ctl:ruleRemoveTargetById=942100;ARGS:foo` and friends. */
export interface Ctl {
  readonly name: string;
  readonly value: string;
}

/** What a rule does when it stops the transaction. */
export type Disruptive = 'deny' | 'drop' | 'allow' | 'pass' | 'redirect';

/** One rule (or one link of a chain), ready to run. */
export interface Rule {
  readonly id: number;
  readonly phase: number;
  readonly loc: SourceLocation;
  variables: readonly VariableRef[];
  readonly operator: CompiledOperator;
  readonly operatorRef: OperatorRef;
  readonly transforms: readonly Transformation[];
  /** The transformations as a chain whose every prefix has an id (undefined: none). */
  readonly transformChain: TransformChain | undefined;
  readonly multiMatch: boolean;
  readonly capture: boolean;
  readonly setvars: readonly SetVar[];
  readonly ctls: readonly Ctl[];
  readonly msg: string | undefined;
  readonly logdata: string | undefined;
  readonly tags: readonly string[];
  readonly severity: string | undefined;
  /** The rule's own disruptive action; `block` means the phase default's. */
  readonly disruptive: Disruptive | 'block' | undefined;
  readonly status: number | undefined;
  readonly skipAfter: string | undefined;
  readonly skip: number;
  readonly log: boolean;
  /** The next link of the chain, run only when this one matched. */
  readonly chain: Rule | undefined;
}

/**
 * A list of transformations, as the last step after the list without it (`parent`). Rules share
 * chains and prefixes of chains (`t:urlDecodeUni` then `t:lowercase` is a step after
 * `t:urlDecodeUni`), so a transaction computes each prefix once per value and caches it by `id`.
 */
export interface TransformChain {
  /** 0 … RuleSet.transformChains - 1. */
  readonly id: number;
  readonly parent: TransformChain | undefined;
  readonly step: Transformation;
}

/** A phase's list: rules and the markers `skipAfter` jumps to. */
export type PhaseItem =
  | { readonly kind: 'rule'; readonly rule: Rule }
  | { readonly kind: 'marker'; readonly name: string };

/** Settings the configuration directives give. */
export interface EngineConfig {
  ruleEngine: 'On' | 'Off' | 'DetectionOnly';
  requestBodyAccess: boolean;
  responseBodyAccess: boolean;
  /** Bytes of a response body phase 4 sees (SecResponseBodyLimit); the rest is not inspected. */
  responseBodyLimit: number;
  /**
   * Content types whose bodies phase 4 sees (SecResponseBodyMimeType), lower-case; undefined (no
   * directive) is every type. As in libmodsecurity 3, SecResponseBodyMimeTypesClear anywhere leaves
   * none, types given after it included (its merge clears the whole set).
   */
  responseBodyMimeTypes: readonly string[] | undefined;
  requestBodyLimit: number;
  argumentSeparator: string;
}

/** A compiled rule set: immutable, shared by every transaction of a snapshot. */
export interface RuleSet {
  readonly phases: readonly (readonly PhaseItem[])[];
  readonly config: Readonly<EngineConfig>;
  /** Default disruptive action per phase (SecDefaultAction), `pass` when none was given. */
  readonly defaults: readonly Disruptive[];
  readonly ruleCount: number;
  /** How many transformation chains (and prefixes) the rules use: ids run below this. */
  readonly transformChains: number;
}

/**
 * Operators the edge runs as never matching, on purpose: @rbl would make a DNS query on the request
 * path and @geoLookup needs a GeoIP database; the CRS uses them only when a store configures IP
 * reputation (tx.block_*_ip / tx.high_risk_country_codes), which the edge does not offer.
 */
const OFF_OPERATORS = new Map<string, CompiledOperator>(
  ['rbl', 'geoLookup'].map((name) => [
    name.toLowerCase(),
    { name, dynamic: false, run: () => ({ matched: false }) },
  ]),
);

/** A rule set that could not be compiled: every problem, each with its file and line. */
export class WafCompileError extends Error {
  readonly code = 'TP_WAF_COMPILE';
  constructor(readonly problems: readonly { loc: SourceLocation; message: string }[]) {
    super(problems.map((p) => `${p.loc.file}:${p.loc.line}: ${p.message}`).join('\n'));
    this.name = 'WafCompileError';
  }
}

const IGNORED_ACTIONS = new Set([
  'ver',
  'rev',
  'maturity',
  'accuracy',
  'auditlog',
  'noauditlog',
  'sanitisematched',
  'sanitizematched',
  'expirevar',
  'initcol',
  'setuid',
  'setsid',
  'setrsc',
  'setenv',
  'deprecatevar',
  'xmlns',
  'append',
  'prepend',
  'exec',
  'chain',
  'id',
  'phase',
]);

/** `1-5,7` style id ranges of SecRuleRemoveById and ctl:ruleRemoveById. */
export function idMatcher(args: readonly string[]): (id: number) => boolean {
  const ranges = args
    .flatMap((a) => a.split(/[\s,]+/))
    .filter(Boolean)
    .map((a) => {
      const [lo, hi] = a.split('-').map(Number);
      return [lo!, hi ?? lo!] as const;
    });
  return (id) => ranges.some(([lo, hi]) => id >= lo && id <= hi);
}

function parseSetVar(text: string): SetVar {
  if (text.startsWith('!')) {
    const [collection, ...rest] = text.slice(1).split('.');
    return { collection: collection!.toUpperCase(), name: rest.join('.'), op: 'delete', value: '' };
  }
  const eq = text.indexOf('=');
  const target = eq < 0 ? text : text.slice(0, eq);
  const dot = target.indexOf('.');
  const collection = (dot < 0 ? target : target.slice(0, dot)).toUpperCase();
  const name = dot < 0 ? '' : target.slice(dot + 1);
  if (eq < 0) return { collection, name, op: 'set', value: '1' };
  const value = text.slice(eq + 1);
  if (value.startsWith('+')) return { collection, name, op: 'add', value: value.slice(1) };
  if (value.startsWith('-')) return { collection, name, op: 'sub', value: value.slice(1) };
  return { collection, name, op: 'set', value };
}

interface Defaults {
  disruptive: Disruptive;
  transforms: Transformation[];
  /** The transformations' names, lower-case: with a rule's own, they name its chain's prefixes. */
  names: string[];
  log: boolean;
}

/**
 * Turns parsed directives into a RuleSet: SecDefaultAction per phase, removals and target updates
 * applied, markers placed in every phase (as ModSecurity does, so a skipAfter in any phase finds
 * its marker), operators and transformations compiled once.
 */
export function compileRuleSet(
  directives: readonly Directive[],
  deps: { compileOperator: OperatorCompiler; transformation: TransformationLookup },
): RuleSet {
  const problems: { loc: SourceLocation; message: string }[] = [];
  const defaults = new Map<number, Defaults>();
  // Every prefix of every rule's transformation list, by its names joined with ','.
  const chains = new Map<string, TransformChain>();
  const chainOf = (names: readonly string[], fns: readonly Transformation[]): TransformChain | undefined => {
    let chain: TransformChain | undefined;
    for (let i = 0; i < fns.length; i++) {
      const key = names.slice(0, i + 1).join(',');
      let next = chains.get(key);
      if (!next) {
        next = { id: chains.size, parent: chain, step: fns[i]! };
        chains.set(key, next);
      }
      chain = next;
    }
    return chain;
  };
  const config: EngineConfig = {
    ruleEngine: 'On',
    requestBodyAccess: true,
    responseBodyAccess: false,
    responseBodyLimit: 524_288,
    responseBodyMimeTypes: undefined,
    requestBodyLimit: 13_107_200,
    argumentSeparator: '&',
  };
  let mimeTypesCleared = false;
  const items: ({ kind: 'rule'; rule: Rule } | { kind: 'marker'; name: string })[] = [];
  const removeById: ((id: number) => boolean)[] = [];
  const removeByTag: string[] = [];
  const updates: { match: (r: Rule) => boolean; variables: readonly VariableRef[] }[] = [];

  const build = (
    d: SecRuleDirective | { kind: 'SecAction'; loc: SourceLocation; actions: readonly ActionRef[] },
    link: boolean,
    phaseOf?: number,
  ): Rule | undefined => {
    const actions = d.actions;
    const get = (n: string) => actions.find((a) => a.name === n)?.value;
    const id = Number(get('id') ?? 0);
    const phaseText = get('phase');
    const phase = phaseOf ?? (phaseText === undefined ? 2 : phaseNumber(phaseText));
    if (!link && get('id') === undefined) problems.push({ loc: d.loc, message: 'rule without an id' });
    const def = defaults.get(phase) ?? {
      disruptive: 'pass' as Disruptive,
      transforms: [],
      names: [],
      log: true,
    };
    let transforms: Transformation[] = [...def.transforms];
    const names: string[] = [...def.names];
    const setvars: SetVar[] = [];
    const ctls: Ctl[] = [];
    const tags: string[] = [];
    let disruptive: Rule['disruptive'];
    let log = def.log;
    let skip = 0;
    for (const a of actions) {
      switch (a.name) {
        case 't': {
          const t = deps.transformation(a.value ?? '');
          if (t === 'none') {
            transforms = [];
            names.length = 0;
          } else if (t === undefined)
            problems.push({ loc: d.loc, message: `unknown transformation t:${a.value}` });
          else {
            transforms.push(t);
            names.push((a.value ?? '').toLowerCase());
          }
          break;
        }
        case 'setvar':
          setvars.push(parseSetVar(a.value ?? ''));
          break;
        case 'ctl': {
          const v = a.value ?? '';
          const eq = v.indexOf('=');
          ctls.push({
            name: (eq < 0 ? v : v.slice(0, eq)).trim(),
            value: eq < 0 ? '' : v.slice(eq + 1).trim(),
          });
          break;
        }
        case 'tag':
          tags.push(a.value ?? '');
          break;
        case 'deny':
        case 'drop':
        case 'allow':
        case 'pass':
        case 'redirect':
        case 'block':
          disruptive = a.name;
          break;
        case 'log':
          log = true;
          break;
        case 'nolog':
          log = false;
          break;
        case 'skip':
          skip = Number(a.value ?? 0);
          break;
        case 'msg':
        case 'logdata':
        case 'severity':
        case 'status':
        case 'skipafter':
        case 'capture':
        case 'multimatch':
          break;
        default:
          if (!IGNORED_ACTIONS.has(a.name))
            problems.push({ loc: d.loc, message: `unsupported action ${a.name}` });
      }
    }
    let operator: CompiledOperator;
    const operatorRef: OperatorRef =
      d.kind === 'SecRule' ? d.operator : { name: 'unconditionalMatch', negated: false, param: '' };
    try {
      const off = OFF_OPERATORS.get(operatorRef.name.toLowerCase());
      operator = off ?? deps.compileOperator(operatorRef, { baseDir: dirname(d.loc.file), loc: d.loc });
    } catch (e) {
      problems.push({ loc: d.loc, message: (e as Error).message });
      return undefined;
    }
    let chain: Rule | undefined;
    if (d.kind === 'SecRule' && d.chain.length > 0) {
      // The links arrive flattened; nest them so each link holds the next.
      const [first, ...rest] = d.chain;
      chain = build({ ...first!, chain: rest }, true, phase);
    }
    return {
      id,
      phase,
      loc: d.loc,
      variables: d.kind === 'SecRule' ? d.variables : [],
      operator,
      operatorRef,
      transforms,
      transformChain: chainOf(names, transforms),
      multiMatch: actions.some((a) => a.name === 'multimatch'),
      capture: actions.some((a) => a.name === 'capture'),
      setvars,
      ctls,
      msg: get('msg'),
      logdata: get('logdata'),
      tags,
      severity: get('severity'),
      disruptive,
      status: get('status') === undefined ? undefined : Number(get('status')),
      skipAfter: get('skipafter'),
      skip,
      log,
      chain,
    };
  };

  for (const d of directives) {
    switch (d.kind) {
      case 'SecRule':
      case 'SecAction': {
        const r = build(d, false);
        if (r) items.push({ kind: 'rule', rule: r });
        break;
      }
      case 'SecMarker':
        items.push({ kind: 'marker', name: d.name });
        break;
      case 'SecDefaultAction': {
        const phase = phaseNumber(d.actions.find((a) => a.name === 'phase')?.value ?? '2');
        const def: Defaults = { disruptive: 'pass', transforms: [], names: [], log: true };
        for (const a of d.actions) {
          if (['deny', 'drop', 'allow', 'pass', 'redirect'].includes(a.name))
            def.disruptive = a.name as Disruptive;
          else if (a.name === 'nolog') def.log = false;
          else if (a.name === 't') {
            const t = deps.transformation(a.value ?? '');
            if (t === 'none') {
              def.transforms = [];
              def.names = [];
            } else if (t) {
              def.transforms.push(t);
              def.names.push((a.value ?? '').toLowerCase());
            }
          }
        }
        defaults.set(phase, def);
        break;
      }
      case 'SecRuleRemoveById':
        removeById.push(idMatcher(d.args));
        break;
      case 'SecRuleRemoveByTag':
        removeByTag.push(...d.args);
        break;
      case 'SecRuleRemoveByMsg':
        break;
      case 'SecRuleUpdateTargetById': {
        const m = idMatcher([d.target]);
        updates.push({ match: (r) => m(r.id), variables: d.variables });
        break;
      }
      case 'SecRuleUpdateTargetByTag':
        updates.push({
          match: (r) => r.tags.some((t) => new RegExp(d.target).test(t)),
          variables: d.variables,
        });
        break;
      case 'SecRuleUpdateTargetByMsg':
        updates.push({ match: (r) => r.msg === d.target, variables: d.variables });
        break;
      case 'SecRuleUpdateActionById':
        problems.push({ loc: d.loc, message: 'SecRuleUpdateActionById is not supported yet' });
        break;
      case 'config':
        applyConfig(config, d.name, d.args);
        if (d.name === 'SecResponseBodyMimeTypesClear') mimeTypesCleared = true;
        break;
    }
  }
  if (problems.length > 0) throw new WafCompileError(problems);
  if (mimeTypesCleared) config.responseBodyMimeTypes = [];

  const kept = items.filter(
    (it) =>
      it.kind === 'marker' ||
      (!removeById.some((m) => m(it.rule.id)) &&
        !it.rule.tags.some((t) => removeByTag.some((p) => new RegExp(p).test(t)))),
  );
  for (const u of updates) {
    for (const it of kept)
      if (it.kind === 'rule' && u.match(it.rule)) it.rule.variables = [...it.rule.variables, ...u.variables];
  }
  const phases: PhaseItem[][] = [[], [], [], [], [], []];
  let ruleCount = 0;
  for (const it of kept) {
    if (it.kind === 'marker') for (const p of phases) p.push(it);
    else {
      phases[it.rule.phase]!.push(it);
      ruleCount++;
    }
  }
  return {
    phases,
    config,
    defaults: [0, 1, 2, 3, 4, 5].map((p) => defaults.get(p)?.disruptive ?? 'pass'),
    ruleCount,
    transformChains: chains.size,
  };
}

function phaseNumber(text: string): number {
  const named: Record<string, number> = { request: 2, response: 4, logging: 5 };
  return named[text.toLowerCase()] ?? Number(text);
}

function applyConfig(c: EngineConfig, name: string, args: readonly string[]): void {
  const a = args[0] ?? '';
  switch (name) {
    case 'SecRuleEngine':
      c.ruleEngine = a === 'Off' ? 'Off' : a === 'DetectionOnly' ? 'DetectionOnly' : 'On';
      break;
    case 'SecRequestBodyAccess':
      c.requestBodyAccess = a === 'On';
      break;
    case 'SecResponseBodyAccess':
      c.responseBodyAccess = a === 'On';
      break;
    case 'SecRequestBodyLimit':
      c.requestBodyLimit = Number(a);
      break;
    case 'SecResponseBodyLimit':
      c.responseBodyLimit = Number(a);
      break;
    case 'SecResponseBodyMimeType':
      c.responseBodyMimeTypes = [
        ...new Set([
          ...(c.responseBodyMimeTypes ?? []),
          ...args.flatMap((t) => t.toLowerCase().split(/\s+/)),
        ]),
      ].filter(Boolean);
      break;
    case 'SecResponseBodyMimeTypesClear':
      c.responseBodyMimeTypes = [];
      break;
    case 'SecArgumentSeparator':
      c.argumentSeparator = a;
      break;
  }
}
