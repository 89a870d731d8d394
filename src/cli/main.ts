import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import pino from 'pino';
import { defaultDataDir, listStores, runningPid } from '../agent/datadir.ts';
import { AgentError } from '../agent/errors.ts';
import { ProcessExecutor } from '../agent/executor.ts';
import { checkPodman, diagnose, formatFindings, prepareHost, probeHost } from '../agent/host/index.ts';
import { buildImages } from '../agent/images/index.ts';
import { destroyStore, downStore } from '../agent/stack/down.ts';
import { EnvironmentName, instanceName } from '../contracts/fleet.ts';
import { hostManagementCpus } from '../contracts/priority.ts';
import { ReadBudgetOptions } from '../control/api/read-budget.ts';
import { controlLayout } from '../control/layout.ts';
import { CONTROL_NICENESS, lowerOwnPriority } from '../control/priority.ts';
import { parseListen } from '../edge/options.ts';
import { CliApiError } from './api-client.ts';
import { registerCloudCommands } from './cloud.ts';
import { collectStatus, storeRecord, waitForHttp } from './local.ts';
import { parseIntervalMs, parseNiceness, parseShare, parseTimeoutSeconds } from './options.ts';
import { EXIT, progress, table } from './output.ts';
import {
  applyThroughControl,
  DEFAULT_ADDRESSES,
  ensureAgent,
  ensureControl,
  ensureEdge,
  localApi,
  platformLogs,
  stopPlatform,
  waitConverged,
} from './platform.ts';
import { registerApiCommands, registerBackupCommands, remoteStatus } from './remote.ts';
import { loadStackFile } from './stackfile.ts';

// The planes' processes (control, jobs, edge, agent) are imported where their command runs: loaded
// here, every command, `backup list` as much as `control`, would wait seconds for all of them.
const DEMO_STACK = fileURLToPath(new URL('../../examples/demo-store/triplane.yaml', import.meta.url));

const program = new Command()
  .name('triplane')
  .description(
    'Triplane: e-commerce hosting on your own machines — edge, control plane and rootless Podman stores',
  )
  .showHelpAfterError();

const dataDirOption = ['--data-dir <dir>', 'where state, logs and pid files live', defaultDataDir()] as const;

program
  .command('validate')
  .description('check a stack file and list every problem with its path and value')
  .argument('<file>', 'stack file (triplane.yaml)')
  .action((file: string) => {
    const r = loadStackFile(file);
    if (!r.ok) {
      process.stderr.write(`${r.report}\n`);
      process.exitCode = EXIT.invalid;
      return;
    }
    process.stdout.write(`${file}: valid (store ${r.spec.name})\n`);
  });

const host = program.command('host').description('prepare this machine to run stores');
host
  .command('prepare')
  .description('install Podman and friends, configure them for this host (idempotent)')
  .action(async () => {
    const say = progress('host');
    const r = await prepareHost(new ProcessExecutor(), {
      onProgress: (e) =>
        say(
          e.type === 'probed'
            ? `${e.steps.length} step(s) to do`
            : `[${e.index + 1}/${e.total}] ${e.step.why}`,
        ),
    });
    say(r.steps.length === 0 ? 'host already prepared' : 'host prepared');
  });

program
  .command('doctor')
  .description('say what is wrong with this host, in plain words; exits non-zero if anything is')
  .action(async () => {
    const ex = new ProcessExecutor();
    const facts = await probeHost(ex);
    const findings = [...diagnose(facts)];
    if (facts.installedPackages.includes('podman')) findings.push(await checkPodman(ex));
    process.stdout.write(`${formatFindings(findings).join('\n')}\n`);
    if (findings.some((f) => f.level === 'error')) process.exitCode = EXIT.failed;
  });

program
  .command('images')
  .description('container images built locally from Debian packages')
  .command('build')
  .description('build the images that changed (cached by content)')
  .argument('[names...]', 'only these images (and what they need)')
  .option('--force', 'rebuild even when nothing changed')
  .action(async (only: string[], opts: { force?: boolean }) => {
    await buildWithProgress(only, Boolean(opts.force));
  });

async function buildWithProgress(only: string[] = [], force = false): Promise<void> {
  const say = progress('images');
  await buildImages({
    executor: new ProcessExecutor(),
    only: only.length > 0 ? only : undefined,
    force,
    onProgress: (e) => {
      if (e.phase === 'skip') say(`${e.image}: up to date`);
      else if (e.phase === 'start') say(`${e.image}: building`);
      else if (e.phase === 'done') say(`${e.image}: built in ${e.seconds.toFixed(0)}s`);
      else say(`${e.image}: failed after ${e.seconds.toFixed(0)}s`);
    },
  });
}

/** A token from a file, trimmed; a clear error when the file cannot be read. */
function readTokenFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new AgentError('TP_TOKEN_FILE', `--token-file ${file}: ${(e as Error).message}`);
  }
}

program
  .command('up')
  .description(
    'prepare the host, build images, and run the control plane, the agent and the edge with a store (the demo store by default)',
  )
  .option('-f, --file <file>', 'stack file', DEMO_STACK)
  .option(...dataDirOption)
  .option('--skip-host', 'do not check host preparation')
  .option('--api <addr>', "the control plane's API address", DEFAULT_ADDRESSES.api)
  .option('--timeout <seconds>', 'how long to wait for the store to answer', parseTimeoutSeconds, 300)
  .action(
    async (opts: { file: string; dataDir: string; skipHost?: boolean; api: string; timeout: number }) => {
      const loaded = loadStackFile(opts.file);
      if (!loaded.ok) {
        process.stderr.write(`${loaded.report}\nnothing was changed\n`);
        process.exitCode = EXIT.invalid;
        return;
      }
      parseListen(opts.api, '--api');
      const at = { ...DEFAULT_ADDRESSES, api: opts.api };
      const dataDir = resolve(opts.dataDir);
      const timeoutMs = opts.timeout * 1000;
      const say = progress('up');
      const ex = new ProcessExecutor();
      if (!opts.skipHost) {
        say('check host');
        await prepareHost(ex, { onProgress: (e) => e.type === 'step' && say(`host: ${e.step.why}`) });
      }
      await buildWithProgress();
      const { api, url, adminTokenFile } = await ensureControl(dataDir, at, say);
      await ensureAgent(dataDir, api, url, say);
      await ensureEdge(dataDir, url, at, say);
      const store = loaded.spec.name;
      const version = await applyThroughControl(api, loaded.spec, resolve(loaded.path));
      say(`stack version ${version} of ${store} applied; waiting for the agent to run it`);
      const st = await waitConverged(api, store, version, timeoutMs, say);
      if (!st) {
        process.stderr.write(
          `store ${store} did not run version ${version} within ${opts.timeout}s; see \`triplane status\` and ${platformLogs(dataDir).agent}\n`,
        );
        process.exitCode = EXIT.failed;
        return;
      }
      const host = `${store}.localhost`;
      const edgeOk = await waitForHttp(
        'http://127.0.0.1:8080/health_check.php',
        timeoutMs,
        (last) => say(`waiting for the edge: ${last}`),
        `${host}:8080`,
      );
      if (!edgeOk) {
        process.stderr.write(
          `the edge did not serve ${host} within ${opts.timeout}s; see ${platformLogs(dataDir).edge}\n`,
        );
        process.exitCode = EXIT.failed;
        return;
      }
      const varnish = st.upstreams.find((u) => u.role === 'varnish');
      process.stdout.write(
        `store ${store} is up: http://${host}:8080/ (Varnish directly: http://${varnish?.host}:${varnish?.port}/)\n` +
          `API: ${url}/api (admin token in ${adminTokenFile})\n`,
      );
    },
  );

program
  .command('down')
  .description(
    "stop and remove the stores' containers (volumes stay); with every store down, stop the agent, the edge and the control plane",
  )
  .argument('[stores...]', 'only these stores (default: all)')
  .option(...dataDirOption)
  .action(async (stores: string[], opts: { dataDir: string }) => {
    const dataDir = resolve(opts.dataDir);
    const ex = new ProcessExecutor();
    const say = progress('down');
    const targets = stores.length > 0 ? stores : listStores(dataDir).map((r) => r.store);
    for (const s of targets) {
      if (!storeRecord(dataDir, s))
        throw new AgentError('TP_STORE_UNKNOWN', `store ${JSON.stringify(s)} is not known in ${dataDir}`);
    }
    // The agent goes first, so it applies nothing while the stores go down; a store taken down
    // alone is left alone by the agent until its next stack version.
    if (listStores(dataDir).every((r) => targets.includes(r.store) || r.state === 'down')) {
      await stopPlatform(dataDir, say);
    }
    for (const s of targets) await downStore(dataDir, ex, s, say);
  });

program
  .command('destroy')
  .description('remove a store with its data (volumes), secrets and unix user')
  .argument('<store>')
  .option('--yes', 'do not ask')
  .option(...dataDirOption)
  .action(async (store: string, opts: { yes?: boolean; dataDir: string }) => {
    const dataDir = resolve(opts.dataDir);
    if (!storeRecord(dataDir, store))
      throw new AgentError('TP_STORE_UNKNOWN', `store ${JSON.stringify(store)} is not known in ${dataDir}`);
    if (!opts.yes) {
      if (!process.stdin.isTTY) {
        process.stderr.write(`destroy deletes ${store}'s database and media; pass --yes to confirm\n`);
        process.exitCode = EXIT.invalid;
        return;
      }
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question(
        `Delete store ${store} with its database and media? Type the store name: `,
      );
      rl.close();
      if (answer.trim() !== store) {
        process.stderr.write('not confirmed; nothing was changed\n');
        process.exitCode = EXIT.failed;
        return;
      }
    }
    const say = progress('destroy');
    // The control plane forgets the store first, so nothing asks for it to run again.
    if (runningPid(controlLayout(dataDir).pid)) {
      try {
        await localApi(dataDir).call('DELETE', `/api/stores/${store}`);
        say(`store ${store} removed from the control plane`);
      } catch (e) {
        if (!(e instanceof CliApiError && e.code === 'TP_API_NOT_FOUND')) throw e;
      }
    }
    await destroyStore(dataDir, new ProcessExecutor(), store, say);
    // The store's other environments run as instances of their own (`<store>--staging`): they go too.
    for (const environment of EnvironmentName.options) {
      const instance = environment === 'production' ? null : instanceName(store, environment);
      if (instance && storeRecord(dataDir, instance))
        await destroyStore(dataDir, new ProcessExecutor(), instance, say);
    }
  });

program
  .command('status')
  .description('every container of every store: state, health, restarts')
  .argument('[store]')
  .option('--json', 'print JSON for scripts')
  .option('--control <url>', "ask this control plane instead of this host's Podman")
  .option(
    '--token <token>',
    'API token for --control (default: TRIPLANE_TOKEN, saved login, local admin token)',
  )
  .option(...dataDirOption)
  .action(
    async (
      store: string | undefined,
      opts: { json?: boolean; dataDir: string; control?: string; token?: string },
    ) => {
      if (opts.control) {
        await remoteStatus(store, opts);
        return;
      }
      const dataDir = resolve(opts.dataDir);
      const rows = await collectStatus(dataDir, new ProcessExecutor(), store);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `${table(
          ['STORE', 'ROLE', 'NAME', 'STATE', 'HEALTH', 'RESTARTS', 'USER'],
          rows.map((r) => [r.store, r.role, r.name, r.state, r.health, String(r.restarts), r.user]),
        )}\n`,
      );
      for (const rec of listStores(dataDir)) {
        if (store && rec.store !== store) continue;
        process.stdout.write(`${rec.store}: ${rec.state ?? 'up'}, http://127.0.0.1:${rec.varnishPort}/\n`);
      }
    },
  );

program
  .command('agent')
  .description('run the node agent in the foreground (`up` starts it in the background)')
  .option(...dataDirOption)
  .option('--interval <ms>', 'supervisor pass interval', parseIntervalMs, 10_000)
  .option('--control <url>', 'take orders from this control plane (without it: supervise local stores)')
  .option('--join-token <token>', 'one-time token to join the control plane (only until the node has joined)')
  .option('--name <name>', 'node name to join under', hostname().toLowerCase())
  .option('--label <k=v...>', 'node labels the control plane places stores by')
  .action(
    async (opts: {
      dataDir: string;
      interval: number;
      control?: string;
      joinToken?: string;
      name: string;
      label?: string[];
    }) => {
      // A bad management-CPU setting stops the agent here, not its first backup hours later.
      hostManagementCpus();
      const log = pino({ name: 'triplane-agent' });
      const agent = opts.control
        ? new (await import('../agent/remote/agent.ts')).RemoteAgent({
            controlUrl: opts.control,
            dataDir: resolve(opts.dataDir),
            executor: new ProcessExecutor(),
            log,
            joinToken: opts.joinToken ?? process.env.TRIPLANE_JOIN_TOKEN,
            name: opts.name,
            labels: Object.fromEntries((opts.label ?? []).map((l) => l.split('=', 2) as [string, string])),
            superviseIntervalMs: opts.interval,
          })
        : new (await import('../agent/daemon.ts')).Agent({
            dataDir: resolve(opts.dataDir),
            intervalMs: opts.interval,
            log,
          });
      await agent.start();
      await new Promise<void>((done) => {
        const stop = () => void agent.stop().then(done);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    },
  );

registerApiCommands(program, dataDirOption);
registerCloudCommands(program);
registerBackupCommands(program, dataDirOption);

const control = program
  .command('control')
  .description('run the control plane (API, reconciler, edge snapshots) in the foreground, and its jobs')
  .option(...dataDirOption)
  .option('--listen <addr>', 'API address', '127.0.0.1:7070')
  .option('--database-url <url>', 'PostgreSQL URL of the state store (default: SQLite in the data directory)')
  .option('--edge-admin <url...>', 'admin endpoints of the edges purges go to', ['http://127.0.0.1:8081'])
  .option(
    '--niceness <n>',
    'CPU niceness of the control plane and its jobs, 0-19: management work ranks below the storefront',
    parseNiceness,
    CONTROL_NICENESS,
  )
  .option(
    '--analytics-share <fraction>',
    'most of one core the analytics reads (requests, events, audit) may take, 0.01-1',
    parseShare,
    ReadBudgetOptions.shape.share.parse(undefined),
  )
  .action(
    async (o: {
      dataDir: string;
      listen: string;
      databaseUrl?: string;
      edgeAdmin: string[];
      niceness: number;
      analyticsShare: number;
    }) => {
      const at = parseListen(o.listen, '--listen');
      hostManagementCpus();
      lowerOwnPriority(o.niceness);
      const { ControlPlane } = await import('../control/process.ts');
      const cp = new ControlPlane({
        dataDir: resolve(o.dataDir),
        databaseUrl: o.databaseUrl ?? process.env.TRIPLANE_DATABASE_URL,
        host: at.host,
        port: at.port,
        edgeAdmin: o.edgeAdmin,
        analytics: { share: o.analyticsShare },
        log: pino({ name: 'triplane-control' }),
        children: { node: [process.execPath, ...process.execArgv], entry: fileURLToPath(import.meta.url) },
      });
      await cp.start();
      await new Promise<void>((done) => {
        const stop = () => void cp.stop().then(done);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    },
  );
control
  .command('init')
  .description('create the state store and a first admin token, written to a file only its owner can read')
  .action(async (_o: unknown, cmd: Command) => {
    // --data-dir and --database-url belong to `control` and apply to `control init` as well.
    const o = cmd.parent!.opts<{ dataDir: string; databaseUrl?: string }>();
    const { initControl } = await import('../control/process.ts');
    const r = await initControl({
      dataDir: resolve(o.dataDir),
      databaseUrl: o.databaseUrl ?? process.env.TRIPLANE_DATABASE_URL,
    });
    process.stdout.write(`admin token ${r.created ? 'written to' : 'already in'} ${r.file}\n`);
  });

program
  .command('jobs')
  .description("run the control plane's job runner in the foreground (`control` starts it, niced)")
  .option(...dataDirOption)
  .option('--database-url <url>', 'PostgreSQL URL of the state store (default: SQLite in the data directory)')
  .action(async (o: { dataDir: string; databaseUrl?: string }) => {
    const { runJobsProcess } = await import('../control/jobs/index.ts');
    await runJobsProcess({
      dataDir: join(resolve(o.dataDir), 'control'),
      databaseUrl: o.databaseUrl ?? process.env.TRIPLANE_DATABASE_URL,
      log: pino({ name: 'triplane-jobs' }),
    });
  });

program
  .command('analytics-reader')
  .description("answer the control plane's analytics reads (`control` starts it at the idle priority)")
  .option(...dataDirOption)
  .option('--database-url <url>', 'PostgreSQL URL of the state store (default: SQLite in the data directory)')
  .action(async (o: { dataDir: string; databaseUrl?: string }) => {
    const { runReaderProcess } = await import('../control/reads/index.ts');
    await runReaderProcess({
      dataDir: join(resolve(o.dataDir), 'control'),
      databaseUrl: o.databaseUrl ?? process.env.TRIPLANE_DATABASE_URL,
      log: pino({ name: 'triplane-analytics-reader' }),
    });
  });

program
  .command('edge')
  .description('run the edge (data plane) in the foreground: one worker per core')
  .option('--snapshot <file>', 'snapshot file to load and watch')
  .option('--control <url>', 'control plane to long-poll for snapshots')
  .option('--token <token>', 'API token for the control plane')
  .option('--token-file <file>', 'read the API token from this file (kept out of the process list)')
  .option('--edge-id <id>', 'name of this edge', hostname())
  .option('--http <addr>', 'HTTP listen address', '127.0.0.1:8080')
  .option('--https <addr>', 'HTTPS listen address, or "off"', '127.0.0.1:8443')
  .option('--metrics <addr>', 'metrics, health and admin address', '127.0.0.1:8081')
  .option('--workers <n>', 'worker processes', String(availableParallelism()))
  .option('--waf-threads <n>', 'WAF inspection threads per worker', '1')
  .option('--access-log <target>', 'access-log sink: http(s) URL or file path')
  .option('--cache-mb <n>', 'edge cache memory per worker (MiB)', '64')
  .option('--spool-mb <n>', 'access-log spool per worker while the sink is down (MiB)', '64')
  .option('--pid-file <file>', 'write the primary pid here')
  .option(...dataDirOption)
  .action(
    async (o: {
      snapshot?: string;
      control?: string;
      token?: string;
      tokenFile?: string;
      edgeId: string;
      http: string;
      https: string;
      metrics: string;
      workers: string;
      wafThreads: string;
      accessLog?: string;
      cacheMb: string;
      spoolMb: string;
      pidFile?: string;
      dataDir: string;
    }) => {
      if (!o.snapshot === !o.control) {
        throw new AgentError('TP_EDGE_SOURCE', 'edge: give exactly one of --snapshot FILE or --control URL');
      }
      if (o.token && o.tokenFile) {
        throw new AgentError('TP_EDGE_TOKEN', 'edge: give at most one of --token or --token-file');
      }
      const wafThreads = Number(o.wafThreads);
      if (!Number.isInteger(wafThreads) || wafThreads < 1 || wafThreads > 64) {
        throw new AgentError(
          'TP_EDGE_WAF_THREADS',
          `edge: --waf-threads: expected an integer from 1 to 64, got ${JSON.stringify(o.wafThreads)}`,
        );
      }
      const dataDir = resolve(o.dataDir);
      const { runEdge } = await import('../edge/process.ts');
      await runEdge(
        {
          dataDir,
          snapshotFile: o.snapshot ? resolve(o.snapshot) : undefined,
          controlUrl: o.control,
          controlToken: o.tokenFile ? readTokenFile(o.tokenFile) : o.token,
          edgeId: o.edgeId,
          http: parseListen(o.http, '--http'),
          https: o.https === 'off' ? null : parseListen(o.https, '--https'),
          metrics: parseListen(o.metrics, '--metrics'),
          workers: Math.max(1, Number(o.workers)),
          wafThreads,
          accessLog: o.accessLog ?? resolve(dataDir, 'logs', 'access.ndjson'),
          cacheBytes: Number(o.cacheMb) * 1024 * 1024,
          spoolBytes: Math.round(Number(o.spoolMb) * 1024 * 1024),
        },
        o.pidFile,
      );
    },
  );

program.parseAsync(process.argv).catch((e: unknown) => {
  // A coded error says what went wrong in its message; a stack would only bury it.
  const code = (e as { code?: unknown }).code;
  if (e instanceof AgentError || (e instanceof Error && typeof code === 'string' && code.startsWith('TP_'))) {
    process.stderr.write(`error ${code}: ${e.message}\n`);
  } else {
    process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
  }
  process.exitCode = EXIT.failed;
});
