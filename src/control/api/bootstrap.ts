import { UserName } from '../../contracts/api.ts';
import { ApiError, parseOrThrow } from '../errors.ts';
import type { State } from '../state/index.ts';
import { audited } from './audit.ts';
import { tokenDto } from './users.ts';

/** The actor of changes the control plane makes on its own behalf, in the audit trail. */
export const SYSTEM_ACTOR = 'triplane';

/**
 * Makes sure a platform admin named `name` exists (creating it on first use) and gives it a new API
 * token; returns the token's secret, which cannot be shown again. Fails with TP_API_CONFLICT when a
 * user of that name exists but is not a platform admin: promoting someone is not bootstrapping.
 */
export async function bootstrapAdmin(state: State, name: string): Promise<string> {
  parseOrThrow(UserName, name, 'admin name');
  return audited(state, SYSTEM_ACTOR, async (tx) => {
    const existing = await tx.users.byName(name);
    if (existing && !existing.platformAdmin) {
      throw new ApiError(
        'TP_API_CONFLICT',
        `user ${JSON.stringify(name)} exists and is not a platform admin`,
        {
          user: name,
        },
      );
    }
    const user = existing ?? (await tx.users.create({ name, platformAdmin: true }));
    const { token, secret } = await tx.users.createToken(user.id, 'bootstrap');
    return {
      result: secret,
      audit: {
        action: 'admin.bootstrap',
        resourceType: 'token',
        resourceId: token.id,
        store: null,
        after: { user: user.name, created: existing === null, token: tokenDto(token, user.name) },
      },
    };
  });
}
