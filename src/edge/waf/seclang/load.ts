import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Directive } from '../types.ts';
import { checkStructure } from './check.ts';
import { WafLoadError, type WafLoadProblem } from './errors.ts';
import { parseSecLang } from './parse.ts';

/** Where Debian's modsecurity-crs package puts the CRS; every field is optional. */
export interface CrsLocation {
  /**
   * Holds crs-setup.conf and the two exclusion files.
   * @default '/etc/modsecurity/crs'
   */
  readonly setupDir?: string;
  /**
   * Holds the REQUEST-9xx/RESPONSE-9xx rule files and their .data files.
   * @default '/usr/share/modsecurity-crs/rules'
   */
  readonly rulesDir?: string;
}

/** The CRS files in the order of Debian's owasp-crs.load; throws TP_WAF_FILE if rulesDir is unreadable. */
export function crsFiles(opts: CrsLocation = {}): string[] {
  // crs-setup.conf, the optional REQUEST-900 exclusions (IncludeOptional), every rules/*.conf by
  // name, then the optional RESPONSE-999 exclusions.
  const setupDir = resolve(opts.setupDir ?? '/etc/modsecurity/crs');
  const rulesDir = resolve(opts.rulesDir ?? '/usr/share/modsecurity-crs/rules');
  let names: string[];
  try {
    names = readdirSync(rulesDir).filter((n) => n.endsWith('.conf'));
  } catch (e) {
    throw new WafLoadError([
      { code: 'TP_WAF_FILE', file: rulesDir, line: 0, directive: '', message: messageOf(e) },
    ]);
  }
  // Plain code-unit order equals httpd's strcmp order for the ASCII names the CRS uses.
  names.sort();
  const optional = (name: string) => (existsSync(join(setupDir, name)) ? [join(setupDir, name)] : []);
  return [
    join(setupDir, 'crs-setup.conf'),
    ...optional('REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf'),
    ...names.map((n) => join(rulesDir, n)),
    ...optional('RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf'),
  ];
}

/** Reads, parses and structurally checks the files in order; `loc.file` is each absolute path. */
export function loadRuleFiles(files: readonly string[]): Directive[] {
  // One WafLoadError carries every problem: all read and parse problems of all files, or, when
  // every file parses, all structural problems.
  const problems: WafLoadProblem[] = [];
  const directives: Directive[] = [];
  for (const given of files) {
    const file = resolve(given);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      problems.push({ code: 'TP_WAF_FILE', file, line: 0, directive: '', message: messageOf(e) });
      continue;
    }
    try {
      directives.push(...parseSecLang(text, file));
    } catch (e) {
      if (!(e instanceof WafLoadError)) throw e;
      problems.push(...e.problems);
    }
  }
  // A file that failed to parse lacks directives, so structure is only judged on a complete set.
  if (problems.length === 0) problems.push(...checkStructure(directives));
  if (problems.length > 0) throw new WafLoadError(problems);
  return directives;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
