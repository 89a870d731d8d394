import { z } from 'zod';
import { ENVIRONMENT_SEPARATOR, EnvironmentName } from './fleet.ts';
import { Certificate, RateLimit, StorePolicy } from './snapshot.ts';
import { StackSpec, StoreName } from './stack.ts';

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

/*
 * Request and response bodies of the control-plane API (`/api/...`). Requests are strict (an unknown
 * key is an error, so a typo is not silently ignored); responses are plain objects, so that parsing
 * an answer strips anything a handler added by mistake. Times are UTC ISO 8601 strings.
 */

const Timestamp = z.iso.datetime().describe('UTC time, ISO 8601.');
const AbsolutePath = z.string().regex(/^\/\S*$/, {
  error: (iss) => `expected an absolute path like "/srv/demo", got ${JSON.stringify(iss.input)}`,
});
const Limit = z.coerce
  .number()
  .int()
  .min(1)
  .max(1000)
  .default(100)
  .describe('At most this many items, newest first.');
const Since = z.iso
  .datetime({ offset: true })
  .optional()
  .describe('Only items at or after this time (ISO 8601), e.g. the `at` of the last item seen.');

/** Name of a user: a login or an automation's name. */
export const UserName = z.string().regex(/^[a-z0-9][a-z0-9._@-]{0,99}$/, {
  error: (iss) =>
    `expected lowercase letters, digits, ".", "_", "@" and "-", at most 100 characters, got ${JSON.stringify(iss.input)}`,
});

/** A host name as the API accepts it: any case, kept lower-case (the stack spec's domain rules). */
export const HostnameInput = z
  .string()
  .toLowerCase()
  .pipe(StackSpec.shape.domains.unwrap().element)
  .describe('A domain name like "shop.example.com" or "*.example.com".');

/** `GET /api/health`. */
export const HealthDto = z.object({ ok: z.literal(true) });

/** One environment of a store and the last stack version applied to it (0 = none yet). */
export const EnvironmentDto = z.object({ name: EnvironmentName, stackVersion: z.int().min(0) });

/** A store as the API shows it. */
export const StoreDto = z.object({
  id: StoreName,
  displayName: z.string(),
  createdAt: Timestamp,
  environments: z.array(EnvironmentDto),
});
export type StoreDto = z.infer<typeof StoreDto>;

/** `POST /api/stores`: a store with production and staging environments; the creator becomes owner. */
export const CreateStoreRequest = z.strictObject({
  id: StoreName.refine((id) => !id.includes(ENVIRONMENT_SEPARATOR), {
    error: (iss) =>
      `expected no "${ENVIRONMENT_SEPARATOR}" (it separates a store from its environment, as in demo${ENVIRONMENT_SEPARATOR}staging), got ${JSON.stringify(iss.input)}`,
  }),
  displayName: z.string().min(1).max(200).optional().describe('Shown in listings. @default the id'),
});

/** `POST /api/stores/:store/stacks`: applying a stack records it as the environment's next version. */
export const ApplyStackRequest = z.strictObject({
  environment: EnvironmentName.default('production'),
  spec: StackSpec.describe('The stack spec (`triplane.yaml` as JSON); `name` must be the store.'),
  sourceDir: AbsolutePath.describe('Directory of the stack file on the nodes: `app.code` is relative to it.'),
});

/** A stack version without its spec, for listings. */
export const StackVersionSummaryDto = z.object({
  store: StoreName,
  environment: EnvironmentName,
  version: z.int().min(1),
  sourceDir: z.string().nullable().describe('Null only for versions recorded outside the API.'),
  createdBy: z.string(),
  createdAt: Timestamp,
});

/** One applied stack version, whole. */
export const StackVersionDto = StackVersionSummaryDto.extend({ spec: StackSpec });
export type StackVersionDto = z.infer<typeof StackVersionDto>;

/** Which environment a stack listing or lookup is about. */
export const StackQuery = z.strictObject({ environment: EnvironmentName.default('production') });

/** `GET /api/stores/:store/stacks` query. */
export const StackListQuery = StackQuery.extend({ limit: Limit });

/** A store's edge policy as written: everything of `StorePolicy` but the store, which the URL names. */
export const PolicyInput = StorePolicy.omit({ store: true });

/** A store's edge policy and its version (0 = none put yet: what partial updates would start from). */
export const PolicyDto = z.object({
  store: StoreName,
  version: z.int().min(0),
  policy: PolicyInput,
  updatedBy: z.string().nullable(),
  updatedAt: Timestamp.nullable(),
});
export type PolicyDto = z.infer<typeof PolicyDto>;

/** `PUT /api/stores/:store/policy/rate-limits`: replaces the policy's rate limits. */
export const RateLimitsRequest = z.array(RateLimit);

/** `PUT /api/stores/:store/policy/ip-rules`: replaces the policy's IP allow and deny lists. */
export const IpRulesRequest = z.strictObject({
  allow: StorePolicy.shape.ipAllow.unwrap(),
  deny: StorePolicy.shape.ipDeny.unwrap(),
});

/** A host name attached to a store. */
export const DomainDto = z.object({ hostname: z.string(), store: StoreName, createdAt: Timestamp });

/** `POST /api/stores/:store/domains`. */
export const AddDomainRequest = z.strictObject({ hostname: HostnameInput });

/** A certificate as the API shows it: never the key. */
export const CertificateDto = z.object({
  hostname: z.string(),
  store: StoreName,
  notAfter: Timestamp,
  updatedAt: Timestamp,
});

/** `PUT /api/certificates/:hostname`: the certificate must cover the host name and match the key. */
export const PutCertificateRequest = Certificate.pick({ certPem: true, keyPem: true });

/** `POST /api/stores/:store/purge`: exactly one of `url`, `prefix` or `tag`. */
export const PurgeRequest = z
  .strictObject({
    url: z
      .string()
      .regex(/^(https?:\/\/[^/\s]+)?\/\S*$/, {
        error: (iss) => `expected a URL or a path like "/checkout", got ${JSON.stringify(iss.input)}`,
      })
      .optional()
      .describe('One page, by URL or path.'),
    prefix: z
      .string()
      .regex(/^\/\S*$/, {
        error: (iss) => `expected a path prefix like "/media/", got ${JSON.stringify(iss.input)}`,
      })
      .optional()
      .describe('Every page whose path starts with this.'),
    tag: z.string().min(1).max(200).optional().describe('Every page tagged so (Magento cache tags).'),
  })
  .check((ctx) => {
    const given = (['url', 'prefix', 'tag'] as const).filter((k) => ctx.value[k] !== undefined);
    if (given.length !== 1) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `expected exactly one of url, prefix or tag, got ${given.length === 0 ? 'none' : given.join(' and ')}`,
      });
    }
  });
export type PurgeRequest = z.infer<typeof PurgeRequest>;

/** How many edges and Varnish instances confirmed a purge. */
export const PurgeResultDto = z.object({ edges: z.int().min(0), varnishes: z.int().min(0) });

/** A user's role in one store. */
export const StoreGrantDto = z.object({ store: StoreName, role: StoreRole });

/** A user as the API shows it. */
export const UserDto = z.object({
  id: z.string(),
  name: z.string(),
  platformAdmin: z.boolean(),
  createdAt: Timestamp,
  roles: z.array(StoreGrantDto),
});
export type UserDto = z.infer<typeof UserDto>;

/** `POST /api/users`. */
export const CreateUserRequest = z.strictObject({
  name: UserName,
  platformAdmin: z.boolean().default(false).describe('May do everything, in every store.'),
});

/** `PUT /api/stores/:store/members/:user`: gives the user this role in the store, replacing any other. */
export const MemberRequest = z.strictObject({ role: StoreRole });

/** A user's membership of a store. */
export const MemberDto = z.object({ store: StoreName, user: z.string(), role: StoreRole });

/** An API token as listed: never its secret. */
export const TokenDto = z.object({
  id: z.string(),
  user: z.string(),
  name: z.string(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable().describe('Refreshed at most once a minute.'),
  revokedAt: Timestamp.nullable(),
});

/** `POST /api/tokens`. */
export const CreateTokenRequest = z.strictObject({
  name: z.string().min(1).max(100).describe('What the token is for, e.g. "ci" or "laptop".'),
  user: UserName.optional().describe(
    'Platform admins only: create the token for this user. @default the caller',
  ),
});

/** A new token and its secret: the only time the secret is shown. */
export const CreatedTokenDto = z.object({
  token: TokenDto,
  secret: z.string().describe('Send as `Authorization: Bearer <secret>`; it cannot be shown again.'),
});

/** `GET /api/tokens` query. */
export const TokenListQuery = z.strictObject({
  user: UserName.optional().describe("Platform admins only: list this user's tokens. @default the caller"),
});

/** `GET /api/whoami`. */
export const WhoamiDto = z.object({
  user: z.object({ id: z.string(), name: z.string() }),
  roles: z.array(StoreGrantDto),
  admin: z.boolean().describe('Platform admin: may do everything, in every store.'),
});

/** Something that happened to a store, for its timeline. */
export const EventDto = z.object({
  id: z.string(),
  at: Timestamp,
  store: StoreName,
  kind: z.string(),
  message: z.string(),
  data: z.unknown(),
});

/** Who changed what, when: one per mutation. */
export const AuditEventDto = z.object({
  id: z.string(),
  at: Timestamp,
  actor: z.string().describe('Name of the user whose token made the change.'),
  action: z.string().describe('What was done, e.g. `stack.apply`.'),
  resourceType: z.string(),
  resourceId: z.string(),
  store: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
});

/** `GET /api/stores/:store/events` query. */
export const EventQuery = z.strictObject({ since: Since, limit: Limit });

/** `GET /api/audit` query: without `store`, platform admins only. */
export const AuditQuery = EventQuery.extend({
  store: StoreName.optional().describe("Only this store's events; its owners may ask."),
});
