import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  ApiClient,
  CliApiError,
  type Credentials,
  findCredentials,
  LOCAL_API,
  saveCredentials,
} from './api-client.ts';
import { parseTimeoutSeconds } from './options.ts';
import { EXIT, progress, table } from './output.ts';
import { loadStackFile } from './stackfile.ts';

/** Options every API command takes. */
interface ApiOpts {
  control?: string;
  token?: string;
  dataDir: string;
  json?: boolean;
}

type Row = Record<string, unknown>;

const str = (v: unknown): string =>
  v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
const when = (ms: unknown): string => (typeof ms === 'number' ? new Date(ms).toISOString() : str(ms));

/** Runs `fn` with an API client; API errors become a message on stderr and their exit code. */
async function withApi(o: ApiOpts, fn: (api: ApiClient) => Promise<void>): Promise<void> {
  const creds = findCredentials({ url: o.control, token: o.token, dataDir: o.dataDir });
  if (!creds) {
    process.stderr.write(
      'not logged in: run `triplane login --token TOKEN` (or `triplane up`, which writes a local admin token)\n',
    );
    process.exitCode = EXIT.denied;
    return;
  }
  try {
    await fn(new ApiClient(creds));
  } catch (e) {
    if (!(e instanceof CliApiError)) throw e;
    process.stderr.write(`${e.code}: ${e.message}\n`);
    const problems = e.details.problems as { path: string; message: string; value?: unknown }[] | undefined;
    for (const p of problems ?? [])
      process.stderr.write(
        `  ${p.path}: ${p.message}${'value' in p ? `, got ${JSON.stringify(p.value)}` : ''}\n`,
      );
    process.exitCode = e.exitCode;
  }
}

/** Prints `rows` as JSON (`--json`) or as a table of `columns`. */
function print(o: ApiOpts, value: unknown, columns?: [string, (r: Row) => string][]): void {
  if (o.json || !columns) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const rows = (Array.isArray(value) ? value : [value]) as Row[];
  process.stdout.write(
    `${table(
      columns.map(([h]) => h),
      rows.map((r) => columns.map(([, f]) => f(r))),
    )}\n`,
  );
}

/** Adds the options every API command shares. */
function api(cmd: Command, dataDirOption: readonly [string, string, string]): Command {
  return cmd
    .option('--control <url>', 'control plane API (default: saved login, or http://127.0.0.1:7070)')
    .option('--token <token>', 'API token (default: TRIPLANE_TOKEN, saved login, or the local admin token)')
    .option('--json', 'print JSON for scripts')
    .option(...dataDirOption);
}

/** Registers the commands that talk to the control-plane API. */
export function registerApiCommands(
  program: Command,
  dataDirOption: readonly [string, string, string],
): void {
  api(program.command('login'), dataDirOption)
    .description('check an API token against the control plane and save it for later commands')
    .option('--token-file <file>', 'read the token from a file (e.g. the one `triplane up` names)')
    .action(async (o: ApiOpts & { tokenFile?: string }) => {
      const token = o.token ?? (o.tokenFile ? readFileSync(o.tokenFile, 'utf8').trim() : undefined);
      if (!token) {
        process.stderr.write('login: give --token TOKEN or --token-file FILE\n');
        process.exitCode = EXIT.invalid;
        return;
      }
      const saved = findCredentials({ url: o.control, dataDir: o.dataDir });
      const creds: Credentials = { url: o.control ?? saved?.url ?? LOCAL_API, token };
      await withApi({ ...o, control: creds.url, token }, async (a) => {
        const me = await a.call<Row>('GET', '/api/whoami');
        const file = saveCredentials(creds);
        process.stdout.write(
          `logged in to ${creds.url} as ${str((me.user as Row)?.name)}; saved to ${file}\n`,
        );
      });
    });

  const stores = api(program.command('stores'), dataDirOption).description('list the stores you can see');
  stores.action(async (o: ApiOpts) =>
    withApi(o, async (a) => {
      print(o, await a.call('GET', '/api/stores'), [
        ['STORE', (r) => str(r.id)],
        ['NAME', (r) => str(r.displayName)],
        ['CREATED', (r) => str(r.createdAt)],
      ]);
    }),
  );
  // Subcommands take the parent's options (--control, --token, --json …) wherever they are written.
  stores
    .command('create')
    .description('create a store (platform admin)')
    .argument('<store>')
    .action(async (store: string, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ApiOpts>();
      await withApi(o, async (a) => print(o, await a.call('POST', '/api/stores', { id: store })));
    });

  api(program.command('apply'), dataDirOption)
    .description('send a stack file to the control plane as a new stack version')
    .requiredOption('-f, --file <file>', 'stack file (triplane.yaml)')
    .option('--env <environment>', 'production or staging', 'production')
    .option('--wait', 'wait until the agent runs the new version')
    .option('--timeout <seconds>', 'how long --wait waits', parseTimeoutSeconds, 300)
    .action(async (o: ApiOpts & { file: string; env: string; wait?: boolean; timeout: number }) => {
      const loaded = loadStackFile(o.file);
      if (!loaded.ok) {
        process.stderr.write(`${loaded.report}\nnothing was changed\n`);
        process.exitCode = EXIT.invalid;
        return;
      }
      await withApi(o, async (a) => {
        const store = loaded.spec.name;
        const v = await a.call<Row>('POST', `/api/stores/${store}/stacks`, {
          environment: o.env,
          spec: loaded.spec,
          sourceDir: dirname(resolve(loaded.path)),
        });
        const version = Number(v.version);
        if (!o.wait) {
          print(o, v, [
            ['STORE', () => store],
            ['VERSION', (r) => str(r.version)],
          ]);
          return;
        }
        const say = progress('apply');
        say(`stack version ${version} of ${store} sent; waiting for the agent`);
        const until = Date.now() + o.timeout * 1000;
        for (;;) {
          const st = await a.call<Row>('GET', `/api/stores/${store}/status`);
          if (Number(st.appliedVersion) >= version && st.converged === true) {
            print(o, st, statusColumns);
            return;
          }
          if (Date.now() > until) {
            process.stderr.write(`store ${store} did not converge on version ${version} in ${o.timeout}s\n`);
            process.exitCode = EXIT.failed;
            return;
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      });
    });

  api(program.command('policy'), dataDirOption)
    .description("show or change a store's edge policy (rate limits, IP lists, bots, cache, overload, WAF)")
    .argument('<store>')
    .option('--rate <perSec>', 'rate limit of the "default" class, requests per second per client')
    .option('--burst <n>', 'burst of that rate limit')
    .option('--allow <cidr...>', 'replace the IP allow list')
    .option('--deny <cidr...>', 'replace the IP deny list')
    .option('--waf <mode>', 'WAF mode: off, detect or block')
    .option('--paranoia <level>', 'WAF paranoia level, 1 (fewest false positives) to 4')
    .option('--waf-response-body <on|off>', 'inspect response bodies (SQL errors, source code leaking out)')
    .option(
      '--waf-exclude <exclusion...>',
      'add WAF exclusions: RULE[,RULE][:TARGET][@/PATH], e.g. 942100:ARGS:q@/catalogsearch/',
    )
    .action(
      async (
        store: string,
        o: ApiOpts & {
          rate?: string;
          burst?: string;
          allow?: string[];
          deny?: string[];
          waf?: string;
          paranoia?: string;
          wafResponseBody?: string;
          wafExclude?: string[];
        },
      ) =>
        withApi(o, async (a) => {
          const current = await a.call<Row>('GET', `/api/stores/${store}/policy`);
          const policy = { ...((current.policy as Row) ?? current) };
          delete policy.store;
          let changed = false;
          if (o.rate !== undefined || o.burst !== undefined) {
            const limits = [...((policy.rateLimits as Row[]) ?? [])];
            const i = limits.findIndex((l) => l.class === 'default');
            const base: Row = i >= 0 ? limits[i]! : { class: 'default', pathPrefixes: [], methods: [] };
            const next = {
              ...base,
              ...(o.rate !== undefined ? { ratePerSec: Number(o.rate) } : {}),
              ...(o.burst !== undefined ? { burst: Number(o.burst) } : {}),
            };
            if (i >= 0) limits[i] = next;
            else limits.push(next);
            policy.rateLimits = limits;
            changed = true;
          }
          if (o.allow) {
            policy.ipAllow = o.allow;
            changed = true;
          }
          if (o.deny) {
            policy.ipDeny = o.deny;
            changed = true;
          }
          if (o.waf || o.paranoia !== undefined || o.wafExclude || o.wafResponseBody !== undefined) {
            const waf: Row = { ...((policy.waf as Row) ?? {}) };
            if (o.waf) waf.mode = o.waf;
            // Passed as given: the API validates and names a bad value.
            if (o.paranoia !== undefined)
              waf.paranoia = Number.isNaN(Number(o.paranoia)) ? o.paranoia : Number(o.paranoia);
            if (o.wafExclude)
              waf.exclusions = [...((waf.exclusions as Row[]) ?? []), ...o.wafExclude.map(parseExclusion)];
            if (o.wafResponseBody !== undefined) {
              const v = o.wafResponseBody;
              const enabled = v === 'on' ? true : v === 'off' ? false : v;
              waf.responseBody = { ...((waf.responseBody as Row) ?? {}), enabled };
            }
            policy.waf = waf;
            changed = true;
          }
          const out = changed ? await a.call('PUT', `/api/stores/${store}/policy`, policy) : current;
          print(o, out);
        }),
    );

  api(program.command('purge'), dataDirOption)
    .description('purge cached pages of a store from the edge and every Varnish of the store')
    .argument('<store>')
    .option('--tag <tag>', 'Magento cache tag, e.g. cat_p_1')
    .option('--url <path>', 'one URL path')
    .option('--prefix <path>', 'every URL under a path prefix')
    .action(async (store: string, o: ApiOpts & { tag?: string; url?: string; prefix?: string }) => {
      const what = { tag: o.tag, url: o.url, prefix: o.prefix };
      const given = Object.entries(what).filter(([, v]) => v !== undefined);
      if (given.length !== 1) {
        process.stderr.write('purge: give exactly one of --tag, --url or --prefix\n');
        process.exitCode = EXIT.invalid;
        return;
      }
      await withApi(o, async (a) =>
        print(o, await a.call('POST', `/api/stores/${store}/purge`, Object.fromEntries(given))),
      );
    });

  const tokens = api(program.command('tokens'), dataDirOption).description('your API tokens');
  tokens.action(async (o: ApiOpts) =>
    withApi(o, async (a) =>
      print(o, await a.call('GET', '/api/tokens'), [
        ['ID', (r) => str(r.id)],
        ['NAME', (r) => str(r.name)],
        ['CREATED', (r) => when(r.createdAt)],
        ['LAST USED', (r) => when(r.lastUsedAt)],
        ['REVOKED', (r) => when(r.revokedAt)],
      ]),
    ),
  );
  tokens
    .command('create')
    .description('create a token; its secret is shown once')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--user <user>', 'for another user (platform admin)')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ApiOpts & { name: string; user?: string }>();
      await withApi(o, async (a) =>
        print(o, await a.call('POST', '/api/tokens', { name: o.name, ...(o.user ? { user: o.user } : {}) })),
      );
    });
  tokens
    .command('revoke')
    .description('revoke a token')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) =>
      withApi(cmd.optsWithGlobals<ApiOpts>(), async (a) => {
        await a.call('DELETE', `/api/tokens/${id}`);
        process.stdout.write(`token ${id} revoked\n`);
      }),
    );

  api(program.command('stacks'), dataDirOption)
    .description("an environment's stack versions, newest first")
    .argument('<store>')
    .option('--env <environment>', 'production or staging', 'production')
    .action(async (store: string, o: ApiOpts & { env: string }) =>
      withApi(o, async (a) =>
        print(
          o,
          await a.call('GET', `/api/stores/${store}/stacks?${new URLSearchParams({ environment: o.env })}`),
          [
            ['VERSION', (r) => str(r.version)],
            ['ENV', (r) => str(r.environment)],
            ['CREATED', (r) => when(r.createdAt)],
            ['BY', (r) => str(r.createdBy)],
          ],
        ),
      ),
    );

  api(program.command('events'), dataDirOption)
    .description('what happened to a store, newest first')
    .argument('<store>')
    .option('--limit <n>', 'how many', '50')
    .action(async (store: string, o: ApiOpts & { limit: string }) =>
      withApi(o, async (a) =>
        print(o, await a.call('GET', `/api/stores/${store}/events?limit=${Number(o.limit)}`), [
          ['TIME', (r) => when(r.at)],
          ['KIND', (r) => str(r.kind)],
          ['MESSAGE', (r) => str(r.message)],
        ]),
      ),
    );

  api(program.command('logs'), dataDirOption)
    .description("a store's recent requests from the edge's access log, newest first")
    .argument('<store>')
    .option('--status <code>', 'only this status code')
    .option('--path <prefix>', 'only paths under this prefix')
    .option('--limit <n>', 'how many', '50')
    .option('--env <environment>', 'production or staging', 'production')
    .action(
      async (store: string, o: ApiOpts & { status?: string; path?: string; limit: string; env: string }) =>
        withApi(o, async (a) => {
          const q = new URLSearchParams({ limit: String(Number(o.limit)), environment: o.env });
          if (o.status) q.set('status', o.status);
          if (o.path) q.set('path', o.path);
          print(o, await a.call('GET', `/api/stores/${store}/requests?${q}`), [
            ['TIME', (r) => str(r.time)],
            ['CLIENT', (r) => str(r.client)],
            ['METHOD', (r) => str(r.method)],
            ['PATH', (r) => str(r.path)],
            ['STATUS', (r) => str(r.status)],
            ['MS', (r) => str(r.durationMs)],
            ['CACHE', (r) => str(r.cache)],
            ['BLOCKED', (r) => str(r.blockedBy)],
          ]);
        }),
    );
}

/** Columns of `triplane backup list` and `show`. */
const backupColumns: [string, (r: Row) => string][] = [
  ['ID', (r) => str(r.id)],
  ['ENV', (r) => str(r.environment)],
  ['REASON', (r) => str(r.reason)],
  ['TAKEN', (r) => str((r.snapshot as Row | null)?.takenAt ?? r.createdAt)],
  ['STATUS', (r) => str(r.status)],
  ['SIZE', (r) => str((r.snapshot as Row | null)?.sizeBytes)],
  ['ADDED', (r) => str((r.snapshot as Row | null)?.addedBytes)],
  ['VERIFIED', (r) => (r.verifying ? 'running' : str((r.verification as Row | null)?.status ?? 'not yet'))],
];

/**
 * Waits for a backup operation to end, printing the store's events as they come (the progress), and
 * returns the backup as it then is. The exit code says how it ended: 0 only when the operation
 * succeeded and, for a backup, its verification passed too.
 */
async function waitForOperation(
  a: ApiClient,
  store: string,
  op: { operation: string; backup: Row },
  o: ApiOpts & { timeout: number },
): Promise<void> {
  const deadline = Date.now() + o.timeout * 1000;
  const seen = new Set<string>();
  const since = new Date(Date.now() - 1000).toISOString();
  for (;;) {
    const events = await a.call<Row[]>('GET', `/api/stores/${store}/events?since=${since}&limit=100`);
    for (const e of events.reverse()) {
      if (seen.has(String(e.id)) || !String(e.kind).startsWith('backup.')) continue;
      seen.add(String(e.id));
      if (!o.json) process.stderr.write(`${str(e.message)}\n`);
    }
    const job = await a.call<Row>('GET', `/api/stores/${store}/operations/${op.operation}`);
    if (job.status === 'succeeded' || job.status === 'failed') {
      const backup = await a.call<Row>('GET', `/api/stores/${store}/backups/${op.backup.id}`);
      print(o, o.json ? { operation: job, backup } : backup, o.json ? undefined : backupColumns);
      const v = backup.verification as Row | null;
      if (job.status === 'failed') {
        process.stderr.write(`${str(job.kind)} failed: ${str(job.error)}\n`);
        process.exitCode = EXIT.failed;
      } else if (job.kind !== 'backup.restore' && v?.status === 'failed') {
        process.stderr.write(
          `verification failed:\n${((v.problems as string[]) ?? []).map((p) => `  ${p}`).join('\n')}\n`,
        );
        process.exitCode = EXIT.failed;
      }
      return;
    }
    if (Date.now() > deadline) {
      process.stderr.write(
        `still ${str(job.status)} after ${o.timeout} s; follow it with \`triplane backup show ${store} ${str(op.backup.id)}\`\n`,
      );
      process.exitCode = EXIT.unavailable;
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `triplane backup create|list|show|verify|restore`. */
export function registerBackupCommands(
  program: Command,
  dataDirOption: readonly [string, string, string],
): void {
  const backup = program
    .command('backup')
    .description("a store's backups: database, media and stack, verified by a restore");
  const waitOpts = (c: Command) =>
    c
      .option(
        '--wait',
        'wait until it has ended (and, for a backup, been verified); non-zero exit if either failed',
      )
      .option('--timeout <seconds>', 'how long --wait waits', parseTimeoutSeconds, 3600);

  waitOpts(api(backup.command('create'), dataDirOption))
    .description('back up a store now')
    .argument('<store>')
    .option('--env <environment>', 'production or staging', 'production')
    .action(async (store: string, o: ApiOpts & { env: string; wait?: boolean; timeout: number }) =>
      withApi(o, async (a) => {
        const op = await a.call<{ operation: string; backup: Row }>('POST', `/api/stores/${store}/backups`, {
          environment: o.env,
        });
        if (o.wait) return waitForOperation(a, store, op, o);
        print(o, o.json ? op : op.backup, o.json ? undefined : backupColumns);
      }),
    );

  api(backup.command('list'), dataDirOption)
    .description("a store's backups, newest first")
    .argument('<store>')
    .option('--env <environment>', 'only this environment')
    .option('--pruned', 'include backups retention removed')
    .action(async (store: string, o: ApiOpts & { env?: string; pruned?: boolean }) =>
      withApi(o, async (a) => {
        const q = new URLSearchParams();
        if (o.env) q.set('environment', o.env);
        if (o.pruned) q.set('pruned', 'true');
        print(o, await a.call('GET', `/api/stores/${store}/backups?${q}`), backupColumns);
      }),
    );

  api(backup.command('show'), dataDirOption)
    .description('one backup, with its verification')
    .argument('<store>')
    .argument('<backup>')
    .action(async (store: string, id: string, o: ApiOpts) =>
      withApi(o, async (a) => {
        const b = await a.call<Row>('GET', `/api/stores/${store}/backups/${id}`);
        print(o, b, backupColumns);
        const v = b.verification as Row | null;
        if (!o.json && v)
          for (const p of (v.problems as string[]) ?? []) process.stdout.write(`  problem: ${p}\n`);
      }),
    );

  waitOpts(api(backup.command('verify'), dataDirOption))
    .description('restore a backup into a throwaway database and compare it with what was dumped')
    .argument('<store>')
    .argument('<backup>')
    .action(async (store: string, id: string, o: ApiOpts & { wait?: boolean; timeout: number }) =>
      withApi(o, async (a) => {
        const op = await a.call<{ operation: string; backup: Row }>(
          'POST',
          `/api/stores/${store}/backups/${id}/verify`,
        );
        if (o.wait) return waitForOperation(a, store, op, o);
        print(o, o.json ? op : op.backup, o.json ? undefined : backupColumns);
      }),
    );

  waitOpts(api(backup.command('restore'), dataDirOption))
    .description(
      'restore a backup into its store, with --env staging into its staging environment (created from production when it has none), or with --to into another store; a safety backup of what the target holds is taken first',
    )
    .argument('<store>')
    .argument('<backup>')
    .option('--to <store>', 'restore into this store instead (it must run on the same node)')
    .option('--env <environment>', "the target's environment: production or staging (default: the backup's)")
    .action(
      async (
        store: string,
        id: string,
        o: ApiOpts & { wait?: boolean; timeout: number; to?: string; env?: string },
      ) =>
        withApi(o, async (a) => {
          const op = await a.call<{ operation: string; backup: Row }>(
            'POST',
            `/api/stores/${store}/backups/${id}/restore`,
            { ...(o.to ? { to: o.to } : {}), ...(o.env ? { environment: o.env } : {}) },
          );
          if (o.wait) return waitForOperation(a, store, op, o);
          print(o, o.json ? op : op.backup, o.json ? undefined : backupColumns);
        }),
    );
}

/**
 * `triplane status --control URL [STORE]`: each store's stack version asked for and running, whether
 * its node converged, and its containers, as the control plane knows them.
 */
export async function remoteStatus(store: string | undefined, o: ApiOpts): Promise<void> {
  await withApi(o, async (a) => {
    const ids = store ? [store] : (await a.call<Row[]>('GET', '/api/stores')).map((r) => String(r.id));
    const all = [];
    for (const id of ids) all.push(await a.call<Row>('GET', `/api/stores/${id}/status`));
    if (o.json) {
      print(o, store ? all[0] : all);
      return;
    }
    print(o, all, statusColumns);
    for (const st of all) {
      const containers = (st.containers as Row[]) ?? [];
      if (containers.length === 0) continue;
      process.stdout.write(
        `\n${table(
          ['STORE', 'ROLE', 'NAME', 'STATE', 'HEALTH', 'RESTARTS'],
          containers.map((c) => [
            str(c.store),
            str(c.role),
            str(c.name),
            str(c.state),
            str(c.health),
            str(c.restarts),
          ]),
        )}\n`,
      );
    }
  });
}

/** Columns of a store's status as the control plane reports it. */
export const statusColumns: [string, (r: Row) => string][] = [
  ['STORE', (r) => str(r.store)],
  ['DESIRED', (r) => str(r.desiredVersion)],
  ['APPLIED', (r) => str(r.appliedVersion)],
  ['CONVERGED', (r) => str(r.converged)],
  ['UPSTREAMS', (r) => str((r.upstreams as Row[] | undefined)?.length)],
];

/**
 * `942100,942190:ARGS:q@/catalogsearch/` → an exclusion of those rules for ARGS:q under the path.
 * The parts are passed on as written: the API checks them and names what is wrong.
 */
export function parseExclusion(text: string): Row {
  const at = text.indexOf('@');
  const pathPrefix = at < 0 ? undefined : text.slice(at + 1);
  const rest = at < 0 ? text : text.slice(0, at);
  const colon = rest.indexOf(':');
  const ids = (colon < 0 ? rest : rest.slice(0, colon)).split(',').filter(Boolean);
  const target = colon < 0 ? undefined : rest.slice(colon + 1);
  return { ruleIds: ids, ...(target ? { targets: [target] } : {}), ...(pathPrefix ? { pathPrefix } : {}) };
}
