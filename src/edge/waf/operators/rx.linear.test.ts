import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CompiledPattern, enableLinearRegExpFallback } from './rx.ts';
import { RX_CASES } from './testdata/modsecurity-cases.ts';

// This file runs in its own process (node:test isolates files), so the process-wide V8 flags stay
// here. Falling back after a single backtrack makes every eligible match run on the linear engine.
enableLinearRegExpFallback(1);

describe('with the linear-time regexp fallback enabled', () => {
  for (const c of RX_CASES) {
    test(`still: ${c.why}`, () => {
      const r = new CompiledPattern(c.op.replace(/^@rx /, '')).exec(c.value);
      assert.equal(r.matched, c.matched);
      if (c.captures) assert.deepEqual(r.captures?.slice(0, c.captures.length), c.captures);
    });
  }

  test('a catastrophic pattern runs in linear time', () => {
    const p = new CompiledPattern('^(a+)+b');
    const t0 = performance.now();
    assert.equal(p.exec('a'.repeat(5000)).matched, false);
    assert.ok(performance.now() - t0 < 2000);
  });
});
