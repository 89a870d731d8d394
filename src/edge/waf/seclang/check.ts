import type { ActionRef, Directive, SecRuleDirective, SourceLocation } from '../types.ts';
import { asksForChain } from './actions.ts';
import type { WafLoadErrorCode, WafLoadProblem } from './errors.ts';

/** Every structural problem of a whole configuration (ids, chains); empty when it is sound. */
export function checkStructure(directives: readonly Directive[]): WafLoadProblem[] {
  // What ModSecurity refuses at startup: every SecRule and SecAction has one positive integer id
  // used nowhere else, every chain is closed by a following SecRule, and chain links leave `id` and
  // `phase` to their starter. A rule without `phase` is fine: it runs in phase 2.
  const problems: WafLoadProblem[] = [];
  const report = (code: WafLoadErrorCode, directive: string, loc: SourceLocation, message: string) => {
    problems.push({ code, file: loc.file, line: loc.line, directive, message });
  };
  const firstSeen = new Map<string, SourceLocation>();
  for (const d of directives) {
    if (d.kind !== 'SecRule' && d.kind !== 'SecAction') continue;
    const idMessage = idProblem(d.actions, d.loc, firstSeen);
    if (idMessage !== undefined) report('TP_WAF_RULE_ID', d.kind, d.loc, idMessage);
    if (d.kind === 'SecAction' && asksForChain(d)) {
      report('TP_WAF_CHAIN', d.kind, d.loc, 'chain is only supported on SecRule');
    }
    if (d.kind === 'SecRule') {
      for (const [loc, message] of chainProblems(d)) report('TP_WAF_CHAIN', d.kind, loc, message);
    }
  }
  return problems;
}

function idProblem(
  actions: readonly ActionRef[],
  loc: SourceLocation,
  firstSeen: Map<string, SourceLocation>,
): string | undefined {
  const ids = valuesOf(actions, 'id');
  const id = ids[0];
  if (id === undefined) return 'rule has no id';
  if (ids.length > 1) return 'rule has more than one id';
  if (!/^[1-9]\d*$/.test(id)) return `id must be a positive integer, got "${id}"`;
  const first = firstSeen.get(id);
  if (first !== undefined) return `duplicate rule id ${id} (first at ${first.file}:${first.line})`;
  firstSeen.set(id, loc);
  return undefined;
}

function chainProblems(rule: SecRuleDirective): [SourceLocation, string][] {
  const id = valuesOf(rule.actions, 'id')[0] ?? '(no id)';
  const found: [SourceLocation, string][] = [];
  for (const link of rule.chain) {
    for (const name of ['id', 'phase']) {
      if (valuesOf(link.actions, name).length > 0) {
        found.push([link.loc, `chained rule of ${id} cannot have its own ${name}`]);
      }
    }
  }
  const last = rule.chain.at(-1) ?? rule;
  if (asksForChain(last)) found.push([last.loc, `chain of rule ${id} is not followed by a SecRule`]);
  return found;
}

function valuesOf(actions: readonly ActionRef[], name: string): string[] {
  return actions.filter((a) => a.name === name).map((a) => a.value ?? '');
}
