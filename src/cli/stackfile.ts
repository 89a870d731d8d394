import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { StackSpec } from '../contracts/stack.ts';
import { formatProblems, parseStackYaml } from '../contracts/validate.ts';

/** A stack file read and validated, or the text listing every problem in it. */
export type LoadedStack =
  | { ok: true; spec: StackSpec; path: string }
  | { ok: false; report: string; path: string };

/** Reads and validates a stack file; problems are reported with file, line, path and value. */
export function loadStackFile(file: string): LoadedStack {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { ok: false, path, report: `${file}: cannot read: ${(e as Error).message}` };
  }
  const r = parseStackYaml(text);
  if (r.ok) return { ok: true, spec: r.spec, path };
  const n = r.problems.length;
  return {
    ok: false,
    path,
    report: `${formatProblems(r.problems, file)}\n${file}: ${n} problem${n === 1 ? '' : 's'}`,
  };
}
