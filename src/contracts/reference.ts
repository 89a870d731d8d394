import { z } from 'zod';
import { StackSpec } from './stack.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  additionalProperties?: JsonSchema | boolean;
  required?: string[];
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && typeof s.additionalProperties === 'object')
    return `map of ${typeOf(s.additionalProperties)}`;
  const range =
    s.minimum !== undefined || s.maximum !== undefined ? ` (${s.minimum ?? ''}–${s.maximum ?? ''})` : '';
  return `${Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any')}${range}`;
}

function rows(s: JsonSchema, path: string, required: boolean, out: string[]): void {
  const isSection = s.type === 'object' && s.properties;
  if (!isSection || (s.description && path)) {
    const def =
      s.default === undefined || isSection
        ? required
          ? '**required**'
          : ''
        : `\`${JSON.stringify(s.default)}\``;
    out.push(
      `| \`${path}\` | ${isSection ? 'section' : typeOf(s)} | ${def} | ${(s.description ?? '').replace(/\n/g, ' ')} |`,
    );
  }
  if (isSection) {
    for (const [k, v] of Object.entries(s.properties!)) {
      rows(v, path ? `${path}.${k}` : k, s.required?.includes(k) ?? false, out);
    }
  }
  if (s.type === 'array' && s.items?.properties) {
    for (const [k, v] of Object.entries(s.items.properties))
      rows(v, `${path}[].${k}`, s.items.required?.includes(k) ?? false, out);
  }
}

/** The stack reference (docs/stack-reference.md), generated from the schema so it cannot drift. */
export function renderStackReference(): string {
  const schema = z.toJSONSchema(StackSpec, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out: string[] = [];
  rows(schema, '', false, out);
  return `# Stack reference (\`triplane.yaml\`)

Generated from the schema in \`src/contracts/stack.ts\` by \`npm run docs\`; a test fails when this file
is stale. Every field but \`name\` has a default. Unknown keys are errors. Sizes are written like
\`256mb\` or \`2g\` (binary units); durations like \`300s\` or \`5m\`. \`triplane validate FILE\` lists
every problem at once with its line, path and value.

| field | type | default | meaning |
|---|---|---|---|
${out.join('\n')}
`;
}
