import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance, FastifyPluginAsync, LightMyRequestResponse as Response } from 'fastify';
import { openState, type State } from '../state/index.ts';
import type { Answerer } from './answer.ts';
import { bootstrapAdmin } from './bootstrap.ts';
import type { ReadBudget } from './read-budget.ts';
import { buildApi, type Purger } from './server.ts';

// Test helper: an API on a fresh SQLite state with one user per role.

/** The fixture's callers: `root` is a platform admin; the others hold that role in store `demo`,
 * except `outsider`, who owns only store `other`. */
export type Who = 'root' | 'owner' | 'developer' | 'viewer' | 'outsider';

/** A purge the fake purger was asked for. */
export interface PurgeCall {
  readonly store: string;
  readonly what: { url?: string; prefix?: string; tag?: string };
}

/** An API under test and what it runs on. */
export interface ApiFixture {
  readonly app: FastifyInstance;
  readonly state: State;
  /** The API token secret of each caller. */
  readonly tokens: Record<Who, string>;
  /** Purges the fake purger was asked for, in order (it answers 2 edges, 1 Varnish). */
  readonly purges: PurgeCall[];
  /** Sends a request as `who` (null: without a token); `body` is sent as JSON. */
  call(who: Who | null, method: string, url: string, body?: unknown): Promise<Response>;
  /** How many audit events there are. */
  auditCount(): Promise<number>;
}

/** Opens a fresh state in a temporary directory and builds an API on it; both go away after `t`. */
export async function apiFixture(
  t: TestContext,
  opts: {
    /** More route plugins, or a function that builds them on the fixture's state. */
    plugins?: FastifyPluginAsync[] | ((state: State) => FastifyPluginAsync[]);
    purger?: Purger | null;
    /** Where analytics reads wait. @default buildApi's */
    readBudget?: ReadBudget;
    /** Who answers analytics reads. @default buildApi's (this process) */
    answerer?: Answerer;
  } = {},
): Promise<ApiFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'triplane-api-'));
  const state = await openState({ dataDir: dir });
  const purges: PurgeCall[] = [];
  const fake: Purger = {
    purge: async (store, what) => {
      purges.push({ store, what });
      return { edges: 2, varnishes: 1 };
    },
  };
  const app = buildApi({
    state,
    purger: opts.purger === null ? undefined : (opts.purger ?? fake),
    plugins: typeof opts.plugins === 'function' ? opts.plugins(state) : opts.plugins,
    readBudget: opts.readBudget,
    answerer: opts.answerer,
  });
  t.after(async () => {
    await app.close();
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tokens = { root: await bootstrapAdmin(state, 'root') } as Record<Who, string>;
  await state.stores.create({ id: 'demo', displayName: 'Demo' });
  await state.stores.create({ id: 'other', displayName: 'Other' });
  for (const s of ['demo', 'other']) {
    await state.environments.create(s, 'production');
    await state.environments.create(s, 'staging');
  }
  const roles = [
    ['owner', 'demo', 'owner'],
    ['developer', 'demo', 'developer'],
    ['viewer', 'demo', 'viewer'],
    ['outsider', 'other', 'owner'],
  ] as const;
  for (const [name, store, role] of roles) {
    const user = await state.users.create({ name });
    await state.users.grant(user.id, store, role);
    tokens[name] = (await state.users.createToken(user.id, 'test')).secret;
  }
  await app.ready();

  return {
    app,
    state,
    tokens,
    purges,
    call: (who, method, url, body) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      }),
    auditCount: async () => (await state.audit.list({ limit: 10_000 })).length,
  };
}

/** An access-log record of `store` at epoch ms `t`, as an edge ships it. */
export function accessRecord(store: string, status: number, path: string, t: number) {
  return {
    time: new Date(t).toISOString(),
    store,
    client: '127.0.0.1',
    method: 'GET',
    host: `${store}.localhost`,
    path,
    status,
    bytesIn: 0,
    bytesOut: 10,
    durationMs: 1,
    upstreamMs: 1,
    cache: 'MISS' as const,
    upstream: '127.0.0.1:8180',
    blockedBy: null,
    requestId: `r${t}`,
  };
}

/** A self-signed certificate for shop.example.com (valid until 2126) and its key. */
export const SHOP_CERT = `-----BEGIN CERTIFICATE-----
MIIBqzCCAVCgAwIBAgIUBiclceOVW2Etan0VQ71d19m8ZdgwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQc2hvcC5leGFtcGxlLmNvbTAgFw0yNjExMjkyMjU0NDRaGA8y
MTI2MTEwNTIyNTQ0NFowGzEZMBcGA1UEAwwQc2hvcC5leGFtcGxlLmNvbTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABOc1xXRP21XBHcytINjeMNykXQckgxKdPfHS
PtkosNK+tohuWyiHI+5kkJUWRLR7gMqrROErnUEjPg+edM/nf5yjcDBuMB0GA1Ud
DgQWBBRUdW/EXlfarCpdCbGAqLQHh93LjzAfBgNVHSMEGDAWgBRUdW/EXlfarCpd
CbGAqLQHh93LjzAPBgNVHRMBAf8EBTADAQH/MBsGA1UdEQQUMBKCEHNob3AuZXhh
bXBsZS5jb20wCgYIKoZIzj0EAwIDSQAwRgIhAPVahhl7gBe0q5hgBn3XGyns1Ghl
62eMPny6JDziowUFAiEApxv80jPTa/uSjbbwIhjsE0UL0Ajkpe1MYfWWTrtzlCs=
-----END CERTIFICATE-----
`;

/** The key of SHOP_CERT. */
export const SHOP_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8+1fwcWYd3I0LaWj
Jj08UZqGWwhhuvY0AgwJ1uVuCkihRANCAATnNcV0T9tVwR3MrSDY3jDcpF0HJIMS
nT3x0j7ZKLDSvraIblsohyPuZJCVFkS0e4DKq0ThK51BIz4PnnTP53+c
-----END PRIVATE KEY-----
`;

/** A key that does not belong to SHOP_CERT. */
export const OTHER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglJvMun3p18cg6KI8
ymLt/Xqyjsqwrna4sUnh6YYbcsihRANCAAQv3c4RBeuqslv4VAPnbiY2P/W6DNg4
omf9mOqSU4E5daWSLomv9GdQ1Eaq+Z3pu1CVYqDIH5eq3XO7CZaa8vX1
-----END PRIVATE KEY-----
`;
