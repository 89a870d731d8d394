import { NodeDesired } from '../../contracts/fleet.ts';

/** The outcome of judging a desired-state body: usable, or every problem found at once. */
export type Judged = { ok: true; desired: NodeDesired } | { ok: false; problems: string[] };

function pathOf(path: readonly PropertyKey[]): string {
  const joined = path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
  return joined || '(root)';
}

/** The body's `version` when it is a usable one, so a body rejected for other reasons still moves `after`. */
export function readVersion(raw: unknown): number | null {
  const v = (raw as { version?: unknown } | null)?.version;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : null;
}

/**
 * Checks a desired-state body against the contract and against what the schema cannot know: that it
 * is meant for this node, that no store appears twice, and that each spec is the store it is filed
 * under (applyStack acts on `spec.name`).
 */
export function judgeDesired(raw: unknown, nodeId: string): Judged {
  const r = NodeDesired.safeParse(raw);
  if (!r.success) {
    return { ok: false, problems: r.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`) };
  }
  const d = r.data;
  const problems: string[] = [];
  if (d.nodeId !== nodeId)
    problems.push(`nodeId: expected this node ${JSON.stringify(nodeId)}, got ${JSON.stringify(d.nodeId)}`);
  const seen = new Set<string>();
  for (const [i, s] of d.stores.entries()) {
    if (seen.has(s.store)) problems.push(`stores[${i}].store: ${JSON.stringify(s.store)} appears twice`);
    seen.add(s.store);
    if (s.spec.name !== s.store)
      problems.push(
        `stores[${i}].spec.name: expected the store name ${JSON.stringify(s.store)}, got ${JSON.stringify(s.spec.name)}`,
      );
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, desired: d };
}
