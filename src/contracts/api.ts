import { z } from 'zod';

/**
 * Every error the control-plane API answers with: a stable `code` scripts can branch on, a message
 * for people, and details that name what was wrong (for validation: every problem with its path).
 */
export const ErrorBody = z.strictObject({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).default({}),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** One validation problem: where (`a.b[0].c`), what is wrong, and the offending value. */
export const FieldProblem = z.strictObject({
  path: z.string(),
  message: z.string(),
  value: z.unknown().optional(),
});
export type FieldProblem = z.infer<typeof FieldProblem>;

/** Roles a user can hold on a store; a platform admin may do everything everywhere. */
export const StoreRole = z.enum(['owner', 'developer', 'viewer']);
export type StoreRole = z.infer<typeof StoreRole>;
