/** Stable codes of everything that can stop a SecLang configuration from loading. */
export type WafLoadErrorCode =
  /** A rule file could not be listed or read. */
  | 'TP_WAF_FILE'
  /** A directive is malformed: quoting, arity, variables, operator or actions. */
  | 'TP_WAF_SYNTAX'
  /** A directive name the parser does not know (ModSecurity would refuse it too). */
  | 'TP_WAF_UNSUPPORTED_DIRECTIVE'
  /** A rule or action has no id, an id that is not a positive integer, or an id used twice. */
  | 'TP_WAF_RULE_ID'
  /** A chain is left open, or a chain link carries what only its starter may (`id`, `phase`). */
  | 'TP_WAF_CHAIN';

/** One thing wrong with one directive; `line` is 0 when the whole file is the problem. */
export interface WafLoadProblem {
  readonly code: WafLoadErrorCode;
  readonly file: string;
  readonly line: number;
  /** The directive's name as known to the parser (as written when unknown); empty for file problems. */
  readonly directive: string;
  readonly message: string;
}

/** A coded load error listing every problem found at once; `code` is the first problem's. */
export class WafLoadError extends Error {
  readonly code: WafLoadErrorCode;
  readonly problems: readonly WafLoadProblem[];
  constructor(problems: readonly WafLoadProblem[]) {
    super(describe(problems));
    this.name = 'WafLoadError';
    this.code = problems[0]?.code ?? 'TP_WAF_SYNTAX';
    this.problems = problems;
  }
}

/** A problem inside a fragment of a directive; the parser adds file, line and directive. */
export class SecLangSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecLangSyntaxError';
  }
}

/** `file:line directive: message`, the one way a problem is printed in messages and logs. */
export function formatProblem(p: WafLoadProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}` : p.file;
  return p.directive === '' ? `${where}: ${p.message}` : `${where} ${p.directive}: ${p.message}`;
}

function describe(problems: readonly WafLoadProblem[]): string {
  const noun = problems.length === 1 ? 'problem' : 'problems';
  const head = `waf configuration failed to load (${problems.length} ${noun})`;
  return [head, ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n');
}
