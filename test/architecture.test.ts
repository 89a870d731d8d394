import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(fileURLToPath(new URL('../src', import.meta.url)));

const PLANES = ['edge', 'control', 'agent', 'cloud'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Area of a file under src/: its first folder (edge, control, agent, cloud, cli, contracts). */
const areaOf = (src: string, file: string) => relative(src, file).split('/')[0]!;

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith('.')) out.push(resolve(join(file, '..'), spec));
  }
  return out;
}

/**
 * Planes meet only in contracts. The CLI is the process entry point: it starts the agent, the edge,
 * the control plane and its jobs (`triplane agent|edge|control|jobs`, `up`, `host`, `images`) and
 * synthesises the cloud stack; everything else it does goes over the API.
 */
const CLI_MAY_IMPORT = ['agent', 'edge', 'control', 'cloud', 'cli', 'contracts'];
function violations(src: string): string[] {
  const bad: string[] = [];
  const SRC = src;
  for (const f of files(SRC)) {
    const from = areaOf(SRC, f);
    for (const target of imports(f)) {
      if (!target.startsWith(SRC)) {
        bad.push(`${relative(SRC, f)} imports ${relative(SRC, target)} outside src/`);
        continue;
      }
      const to = areaOf(SRC, target);
      if (to === from || to === 'contracts') continue;
      if (from === 'contracts') bad.push(`${relative(SRC, f)}: contracts must not import ${to}`);
      else if (PLANES.includes(from)) bad.push(`${relative(SRC, f)}: plane ${from} imports ${to}`);
      else if (from === 'cli' && !CLI_MAY_IMPORT.includes(to))
        bad.push(`${relative(SRC, f)}: cli imports ${to}`);
    }
  }
  return bad;
}

test('planes import each other only through src/contracts', () => {
  assert.deepEqual(violations(SRC), []);
});

test('fails a tree where one plane imports another or contracts imports a plane', () => {
  const root = mkdtempSync(join(tmpdir(), 'tp-arch-'));
  const write = (p: string, text: string) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  write('contracts/stack.ts', "import { x } from '../agent/a.ts';\n");
  write('agent/a.ts', "import { y } from '../edge/router.ts';\nimport { z } from '../contracts/stack.ts';\n");
  write('edge/router.ts', "export const y = await import('../control/api.ts');\n");
  write('control/api.ts', 'export const api = 1;\n');
  write('cli/main.ts', "import { a } from '../agent/a.ts';\nimport { b } from '../control/api.ts';\n");
  write('cli/bad.ts', "import { t } from '../testing/fixtures.ts';\n");
  write('testing/fixtures.ts', 'export const t = 1;\n');
  try {
    assert.deepEqual(violations(root).sort(), [
      'agent/a.ts: plane agent imports edge',
      'cli/bad.ts: cli imports testing',
      'contracts/stack.ts: contracts must not import agent',
      'edge/router.ts: plane edge imports control',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
