/**
 * The WAF's shared shapes: the parsed SecLang configuration (what the parser produces and the engine
 * compiles), and the contracts of transformations and operators. Parser, transformations, operators
 * and engine live in their own folders and meet only here.
 */

/** Where a directive came from, for every load error and every event. */
export interface SourceLocation {
  readonly file: string;
  /** 1-based line of the directive's first line (a directive may continue over `\` lines). */
  readonly line: number;
}

/**
 * One variable of a SecRule's target list, e.g. `ARGS:foo`, `!REQUEST_COOKIES:/__utm/`, `&TX:sql`,
 * `REQUEST_HEADERS:User-Agent`, `XML:/*`.
 */
export interface VariableRef {
  /** Collection or variable name, upper-case as written: `ARGS`, `REQUEST_HEADERS`, `TX`, `REQUEST_URI`. */
  readonly collection: string;
  /**
   * The part after `:`. A string selects one key (case-insensitive for every collection but TX's
   * values); `{ regex }` selects keys matching the regex (the source between slashes, as written).
   */
  readonly selector?: string | { readonly regex: string };
  /** `!` prefix: removes matching keys from the collection for this rule. */
  readonly exclude: boolean;
  /** `&` prefix: the number of matching keys instead of their values. */
  readonly count: boolean;
}

/** A rule's operator, e.g. `@rx ^foo`, `!@within %{tx.allowed_methods}`; a bare pattern is `rx`. */
export interface OperatorRef {
  /** Name without `@`, as written (case kept): `rx`, `pm`, `pmFromFile`, `detectSQLi`, `eq`, … */
  readonly name: string;
  readonly negated: boolean;
  /** The parameter text after the name, unquoted, with `%{…}` macros left in place. */
  readonly param: string;
}

/** One action, e.g. `id:942100`, `t:urlDecodeUni`, `setvar:'tx.sql_injection_score=+%{tx.critical_anomaly_score}'`. */
export interface ActionRef {
  /** Action name, lower-case: `id`, `phase`, `t`, `setvar`, `ctl`, `msg`, `block`, `chain`, … */
  readonly name: string;
  /** The argument after `:` with surrounding single quotes removed; undefined for bare actions. */
  readonly value?: string;
}

/** `SecRule VARIABLES OPERATOR "ACTIONS"`; a chained rule's links follow it in `chain`. */
export interface SecRuleDirective {
  readonly kind: 'SecRule';
  readonly loc: SourceLocation;
  readonly variables: readonly VariableRef[];
  readonly operator: OperatorRef;
  readonly actions: readonly ActionRef[];
  /** The rules that follow under `chain`, in order (each without its own id/phase). */
  readonly chain: readonly SecRuleDirective[];
}

/** `SecAction "ACTIONS"`: a rule that always matches. */
export interface SecActionDirective {
  readonly kind: 'SecAction';
  readonly loc: SourceLocation;
  readonly actions: readonly ActionRef[];
}

/** `SecMarker NAME`: a target for `skipAfter`. */
export interface SecMarkerDirective {
  readonly kind: 'SecMarker';
  readonly loc: SourceLocation;
  readonly name: string;
}

/** `SecDefaultAction "phase:N,log,auditlog,pass"`: defaults for the rules of one phase. */
export interface SecDefaultActionDirective {
  readonly kind: 'SecDefaultAction';
  readonly loc: SourceLocation;
  readonly actions: readonly ActionRef[];
}

/** `SecRuleRemoveById 1 2 100-200`, `SecRuleRemoveByTag TAG`, `SecRuleRemoveByMsg MSG`. */
export interface SecRuleRemoveDirective {
  readonly kind: 'SecRuleRemoveById' | 'SecRuleRemoveByTag' | 'SecRuleRemoveByMsg';
  readonly loc: SourceLocation;
  /** Ids and id ranges (`100-200`), or one tag/msg pattern. */
  readonly args: readonly string[];
}

/** `SecRuleUpdateTargetById ID "!ARGS:foo|ARGS:bar"` (also ByTag/ByMsg). */
export interface SecRuleUpdateTargetDirective {
  readonly kind: 'SecRuleUpdateTargetById' | 'SecRuleUpdateTargetByTag' | 'SecRuleUpdateTargetByMsg';
  readonly loc: SourceLocation;
  readonly target: string;
  readonly variables: readonly VariableRef[];
}

/** `SecRuleUpdateActionById ID "ACTIONS"`. */
export interface SecRuleUpdateActionDirective {
  readonly kind: 'SecRuleUpdateActionById';
  readonly loc: SourceLocation;
  readonly id: string;
  readonly actions: readonly ActionRef[];
}

/**
 * A configuration directive kept as name and arguments (`SecComponentSignature`,
 * `SecCollectionTimeout`, `SecRuleEngine`, `SecRequestBodyAccess`, …). Only names in the parser's
 * known list get here; any other name is a load error.
 */
export interface ConfigDirective {
  readonly kind: 'config';
  readonly loc: SourceLocation;
  readonly name: string;
  readonly args: readonly string[];
}

export type Directive =
  | SecRuleDirective
  | SecActionDirective
  | SecMarkerDirective
  | SecDefaultActionDirective
  | SecRuleRemoveDirective
  | SecRuleUpdateTargetDirective
  | SecRuleUpdateActionDirective
  | ConfigDirective;

/** A transformation (`t:lowercase`): pure, string in, string out. */
export type Transformation = (input: string) => string;

/** What an operator needs at run time besides the value. */
export interface OperatorContext {
  /** Expands `%{tx.foo}`-style macros in the operator's parameter for this transaction. */
  readonly expand: (text: string) => string;
}

/** The outcome of one operator on one value. */
export interface OperatorResult {
  readonly matched: boolean;
  /**
   * For `capture`: the whole match and groups (TX.0 … TX.9); for @pm the matched phrase as TX.0;
   * for @detectSQLi the fingerprint. Undefined when nothing is captured.
   */
  readonly captures?: readonly string[];
}

/** An operator compiled once per configuration, applied to many values. */
export interface CompiledOperator {
  readonly name: string;
  /** Whether the result may depend on macros (then `run` expands the parameter each time). */
  readonly dynamic: boolean;
  run(value: string, ctx: OperatorContext): OperatorResult;
}

/** Where operators find their data files (`@pmFromFile file.data` is relative to the rule's file). */
export interface OperatorCompileContext {
  /** Directory of the rule's file. */
  readonly baseDir: string;
  readonly loc: SourceLocation;
}
