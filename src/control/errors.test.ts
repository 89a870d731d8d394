import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ApiError, parseOrThrow } from './errors.ts';

test('fails a bad body listing every field with its path and value', () => {
  const S = z.strictObject({ name: z.string(), replicas: z.int().min(1), tags: z.array(z.string()) });
  assert.throws(
    () => parseOrThrow(S, { name: 7, replicas: 0, tags: ['a', 3] }, 'body'),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 400);
      assert.equal(e.code, 'TP_API_INVALID');
      const problems = e.details.problems as { path: string; value: unknown }[];
      assert.deepEqual(
        problems.map((p) => [p.path, p.value]),
        [
          ['name', 7],
          ['replicas', 0],
          ['tags[1]', 3],
        ],
      );
      return true;
    },
  );
});
