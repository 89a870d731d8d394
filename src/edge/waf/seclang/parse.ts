import type { Directive, SecRuleDirective, SourceLocation } from '../types.ts';
import { asksForChain, parseActions } from './actions.ts';
import { canonicalDirective, isRuleDirective, type RuleDirectiveName } from './directives.ts';
import { SecLangSyntaxError, WafLoadError, type WafLoadProblem } from './errors.ts';
import { parseOperator } from './operator.ts';
import { logicalLines, splitArguments } from './tokenize.ts';
import { parseVariables } from './variables.ts';

/** Parses one SecLang file into directives; throws one WafLoadError listing every problem. */
export function parseSecLang(text: string, file: string): Directive[] {
  // Chained SecRules are folded into their starter's `chain`. Whether every chain closes and ids
  // are unique is the loader's structural check (./check.ts), because that needs every file.
  const problems: WafLoadProblem[] = [];
  const directives: Directive[] = [];
  // The chain array of the rule whose last link asked for `chain`, waiting for its next link.
  let openChain: SecRuleDirective[] | undefined;
  for (const { line, text: lineText } of logicalLines(text)) {
    const loc: SourceLocation = { file, line };
    const errors: string[] = [];
    const words = attempt(errors, () => splitArguments(lineText)) ?? [lineText.split(/\s/)[0]!];
    const [written, ...args] = words as [string, ...string[]];
    const name = canonicalDirective(written);
    if (name === undefined) {
      problems.push({
        code: 'TP_WAF_UNSUPPORTED_DIRECTIVE',
        file,
        line,
        directive: written,
        message: 'unsupported directive',
      });
      continue;
    }
    const directive = errors.length === 0 ? build(name, args, loc, errors) : undefined;
    for (const message of errors)
      problems.push({ code: 'TP_WAF_SYNTAX', file, line, directive: name, message });
    if (directive === undefined) continue;
    if (directive.kind === 'SecRule' && openChain !== undefined) {
      openChain.push(directive);
      if (!asksForChain(directive)) openChain = undefined;
      continue;
    }
    openChain =
      directive.kind === 'SecRule' && asksForChain(directive)
        ? (directive.chain as SecRuleDirective[])
        : undefined;
    directives.push(directive);
  }
  if (problems.length > 0) throw new WafLoadError(problems);
  return directives;
}

type Builder = (args: readonly string[], loc: SourceLocation, errors: string[]) => Directive | undefined;

/** Arity as [min, max] (max Infinity for lists), checked before a builder runs. */
const ARITY: Record<RuleDirectiveName | 'config', readonly [number, number]> = {
  SecRule: [2, 3],
  SecAction: [1, 1],
  SecMarker: [1, 1],
  SecDefaultAction: [1, 1],
  SecRuleRemoveById: [1, Number.POSITIVE_INFINITY],
  SecRuleRemoveByTag: [1, Number.POSITIVE_INFINITY],
  SecRuleRemoveByMsg: [1, Number.POSITIVE_INFINITY],
  // mod_security2 also takes a third, replacement target; the AST has no place for it.
  SecRuleUpdateTargetById: [2, 2],
  SecRuleUpdateTargetByTag: [2, 2],
  SecRuleUpdateTargetByMsg: [2, 2],
  SecRuleUpdateActionById: [2, 2],
  config: [1, Number.POSITIVE_INFINITY],
};

/** Config directives that take no argument. */
const NO_ARGUMENT = new Set(['SecResponseBodyMimeTypesClear']);

const ID_OR_RANGE = /^\d+(?:-\d+)?$/;

const BUILDERS: Record<RuleDirectiveName, Builder> = {
  SecRule: ([vars, op, acts], loc, errors) => {
    const variables = attempt(errors, () => parseVariables(vars!));
    const operator = attempt(errors, () => parseOperator(op!));
    const actions = attempt(errors, () => parseActions(acts ?? ''));
    if (variables === undefined || operator === undefined || actions === undefined) return undefined;
    return { kind: 'SecRule', loc, variables, operator, actions, chain: [] };
  },
  SecAction: ([acts], loc, errors) => {
    const actions = attempt(errors, () => parseActions(acts!));
    return actions && { kind: 'SecAction', loc, actions };
  },
  SecDefaultAction: ([acts], loc, errors) => {
    const actions = attempt(errors, () => parseActions(acts!));
    return actions && { kind: 'SecDefaultAction', loc, actions };
  },
  SecMarker: ([name], loc, errors) => {
    if (name === '') errors.push('empty marker name');
    return name ? { kind: 'SecMarker', loc, name } : undefined;
  },
  SecRuleRemoveById: (args, loc, errors) => {
    // mod_security2 also accepts a comma-separated list inside one argument.
    const ids = args.flatMap((a) => a.split(','));
    const bad = ids.filter((id) => !ID_OR_RANGE.test(id));
    if (bad.length > 0)
      errors.push(`expected rule ids or ranges like 942100 or 942100-942199, got ${bad.join(' ')}`);
    return bad.length > 0 ? undefined : { kind: 'SecRuleRemoveById', loc, args: ids };
  },
  SecRuleRemoveByTag: (args, loc) => ({ kind: 'SecRuleRemoveByTag', loc, args }),
  SecRuleRemoveByMsg: (args, loc) => ({ kind: 'SecRuleRemoveByMsg', loc, args }),
  SecRuleUpdateTargetById: (args, loc, errors) => {
    if (!ID_OR_RANGE.test(args[0]!)) errors.push(`expected a rule id like 942100, got "${args[0]}"`);
    return updateTarget('SecRuleUpdateTargetById', args, loc, errors);
  },
  SecRuleUpdateTargetByTag: (args, loc, errors) =>
    updateTarget('SecRuleUpdateTargetByTag', args, loc, errors),
  SecRuleUpdateTargetByMsg: (args, loc, errors) =>
    updateTarget('SecRuleUpdateTargetByMsg', args, loc, errors),
  SecRuleUpdateActionById: ([id, acts], loc, errors) => {
    if (!/^\d+$/.test(id!)) errors.push(`expected a rule id like 942100, got "${id}"`);
    const actions = attempt(errors, () => parseActions(acts!));
    return actions && errors.length === 0
      ? { kind: 'SecRuleUpdateActionById', loc, id: id!, actions }
      : undefined;
  },
};

function updateTarget(
  kind: 'SecRuleUpdateTargetById' | 'SecRuleUpdateTargetByTag' | 'SecRuleUpdateTargetByMsg',
  [target, vars]: readonly string[],
  loc: SourceLocation,
  errors: string[],
): Directive | undefined {
  const variables = attempt(errors, () => parseVariables(vars!));
  return variables && errors.length === 0 ? { kind, loc, target: target!, variables } : undefined;
}

function build(
  name: string,
  args: readonly string[],
  loc: SourceLocation,
  errors: string[],
): Directive | undefined {
  const rule = isRuleDirective(name) ? name : undefined;
  const [min, max] = rule === undefined && NO_ARGUMENT.has(name) ? [0, 0] : ARITY[rule ?? 'config'];
  if (args.length < min || args.length > max) {
    errors.push(`expects ${arityText(min, max)}, got ${args.length}`);
    return undefined;
  }
  return rule === undefined ? { kind: 'config', loc, name, args } : BUILDERS[rule](args, loc, errors);
}

function arityText(min: number, max: number): string {
  const noun = (n: number) => (n === 1 ? 'argument' : 'arguments');
  if (min === max) return `${min} ${noun(min)}`;
  return max === Number.POSITIVE_INFINITY ? `at least ${min} ${noun(min)}` : `${min} to ${max} arguments`;
}

/** Runs one part of a directive's parse, turning its syntax error into a message so the others still run. */
function attempt<T>(errors: string[], parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof SecLangSyntaxError)) throw e;
    errors.push(e.message);
    return undefined;
  }
}
