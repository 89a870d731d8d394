import { isMap, isScalar, parseDocument } from 'yaml';
import type { z } from 'zod';
import { StackSpec } from './stack.ts';

/** One problem found in a stack file: where it is, what is wrong, and the value that was there. */
export interface SpecProblem {
  /** Dotted path such as `services.redis.partitions.session.maxmemory`; `(file)` for syntax errors. */
  readonly path: string;
  readonly message: string;
  /** The offending value, when there is one. */
  readonly value?: unknown;
  /** 1-based line in the file, when the problem came from a file. */
  readonly line?: number;
}

/** Outcome of validating a stack: the spec with defaults filled in, or every problem at once. */
export type SpecResult = { ok: true; spec: StackSpec } | { ok: false; problems: SpecProblem[] };

function joinPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Keys the schema accepts at `path`, so a typo can be answered with "did you mean …". */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = StackSpec;
  for (const key of path) {
    schema = schema && unwrapObject(schema)?.shape[String(key)];
  }
  const obj = schema && unwrapObject(schema);
  return obj ? Object.keys(obj.shape) : [];
}

function unwrapObject(schema: z.core.$ZodType): { shape: Record<string, z.core.$ZodType> } | undefined {
  let s: z.core.$ZodType | undefined = schema;
  for (let i = 0; i < 8 && s; i++) {
    const def = s._zod.def as unknown as {
      type: string;
      innerType?: z.core.$ZodType;
      shape?: Record<string, z.core.$ZodType>;
    };
    if (def.type === 'object') return { shape: def.shape ?? {} };
    s = def.innerType;
  }
  return undefined;
}

/** Turns zod's issues into problems that name the path and the value, one per unknown key. */
export function toProblems(issues: readonly z.core.$ZodIssue[], input: unknown): SpecProblem[] {
  const out: SpecProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(issue.path);
      for (const key of issue.keys) {
        const best = known
          .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
          .sort((a, b) => a.d - b.d)[0];
        const hint =
          best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best.k}"?)` : '';
        out.push({
          path: joinPath([...issue.path, key]),
          message: `unknown key${hint}; allowed here: ${known.join(', ')}`,
          value: valueAt(input, [...issue.path, key]),
        });
      }
      continue;
    }
    const value = valueAt(input, issue.path);
    let message = issue.message;
    if (issue.code === 'invalid_type' && value === undefined) message = 'is required';
    else if (issue.code === 'invalid_type') message = `expected ${issue.expected}, got ${describe(value)}`;
    else if (issue.code === 'invalid_value' && 'values' in issue)
      message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`;
    else if ((issue.code === 'too_small' || issue.code === 'too_big') && typeof value === 'number')
      message = `${issue.message.replace(/^Too (small|big): expected number to be /, 'expected a number ')}, got ${value}`;
    out.push({ path: joinPath(issue.path) || '(root)', message, value });
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Validates an already-parsed stack and fills in every default. */
export function validateStack(input: unknown): SpecResult {
  const result = StackSpec.safeParse(input);
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, problems: toProblems(result.error.issues, input) };
}

/** Parses and validates the text of a `triplane.yaml`, attaching line numbers to problems. */
export function parseStackYaml(text: string): SpecResult {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: '(file)',
        message: e.message.split('\n')[0]!,
        line: lineOf(e.pos[0]),
      })),
    };
  }
  const input = doc.toJS() as unknown;
  const result = validateStack(input);
  if (result.ok) return result;
  const problems = result.problems.map((p) => {
    const segments =
      p.path === '(root)' ? [] : p.path.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '');
    const keys = segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    // Point at the key itself when it exists (a block value starts on the next line), else at the
    // nearest parent that exists: a missing key is reported where its parent is.
    for (let n = keys.length; n >= 0; n--) {
      const parent = n > 0 ? doc.getIn(keys.slice(0, n - 1), true) : undefined;
      if (isMap(parent)) {
        const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === keys[n - 1]);
        if (pair && isScalar(pair.key) && pair.key.range) return { ...p, line: lineOf(pair.key.range[0]) };
      }
      const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return { ...p, line: lineOf(node.range[0]) };
    }
    return p;
  });
  // Reading order is easier to act on than the order zod visited the schema in.
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { ok: false, problems };
}

/** Renders problems one per line: `file:line: path: message`. */
export function formatProblems(problems: readonly SpecProblem[], file?: string): string {
  return problems
    .map((p) => {
      const where = file ? `${file}${p.line ? `:${p.line}` : ''}: ` : p.line ? `line ${p.line}: ` : '';
      return `${where}${p.path}: ${p.message}`;
    })
    .join('\n');
}
