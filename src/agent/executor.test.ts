import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ProcessExecutor } from './executor.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-exec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a command reads its input from a file and writes its output to one, private to root', async () => {
  const input = join(dir, 'in');
  const big = Buffer.alloc(3 * 1024 * 1024, 'x');
  writeFileSync(input, big);
  const out = join(dir, 'out');
  const r = await new ProcessExecutor().run({ argv: ['cat'], stdinFile: input, stdoutFile: out });
  assert.equal(r.stdout, '', 'the output went to the file, not to memory');
  assert.ok(readFileSync(out).equals(big));
  assert.equal(statSync(out).mode & 0o777, 0o600);
});

test('a failing command with its output in a file still fails, with its error output', async () => {
  await assert.rejects(
    new ProcessExecutor().run({
      argv: ['sh', '-c', 'echo partial; echo broken >&2; exit 3'],
      stdoutFile: join(dir, 'o2'),
    }),
    (e: Error & { code?: string }) => e.code === 'TP_CMD_FAILED' && /exited 3: broken/.test(e.message),
  );
  assert.equal(readFileSync(join(dir, 'o2'), 'utf8'), 'partial\n');
});

test('an input file that cannot be read fails the command', async () => {
  await assert.rejects(
    new ProcessExecutor().run({ argv: ['cat'], stdinFile: join(dir, 'missing') }),
    (e: Error & { code?: string }) => e.code === 'TP_CMD_FAILED' && /cannot read .*missing/.test(e.message),
  );
});
