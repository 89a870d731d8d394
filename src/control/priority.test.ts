import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';

// Niceness is per thread and lowering it cannot be undone without privileges, so each case runs in a
// child process of its own and reports the niceness of every thread it has, as the kernel sees it.
const CHILD = `
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { lowerOwnPriority } from ${JSON.stringify(new URL('./priority.ts', import.meta.url).href)};
const nice = () => readdirSync('/proc/self/task').map((t) => {
  const stat = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
});
const before = nice();
const changed = lowerOwnPriority(Number(process.argv[1]));
// A thread started afterwards inherits the niceness of the thread that starts it.
const w = new Worker(new URL('data:text/javascript,import { parentPort } from "node:worker_threads"; parentPort.postMessage(1);'));
await new Promise((r) => w.once('message', r));
const after = nice();
await w.terminate();
console.log(JSON.stringify({ before, changed: changed.length, after }));
`;

const run = (niceness: number, prefix: string[] = []) =>
  JSON.parse(
    execFileSync(
      prefix[0] ?? process.execPath,
      [
        ...prefix.slice(1),
        ...(prefix.length ? [process.execPath] : []),
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        CHILD,
        String(niceness),
      ],
      { encoding: 'utf8' },
    ),
  ) as { before: number[]; changed: number; after: number[] };

describe('lowerOwnPriority', () => {
  it('lowers every thread of the process, V8 and libuv threads included, and the threads started later', () => {
    const r = run(7);
    assert.ok(r.before.length > 1, 'a Node.js process has more threads than the main one');
    assert.ok(r.before.every((n) => n === 0));
    assert.equal(r.changed, r.before.length);
    assert.ok(r.after.length > r.before.length, 'the worker added threads');
    assert.deepEqual(new Set(r.after), new Set([7]));
  });

  it('leaves threads that are already nicer alone', () => {
    const r = run(5, ['nice', '-n', '12']);
    assert.equal(r.changed, 0);
    assert.deepEqual(new Set(r.after), new Set([12]));
  });
});
