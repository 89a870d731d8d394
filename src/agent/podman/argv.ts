import type { Command } from '../executor.ts';
import type { ContainerSpec, PodSpec, StoreUser } from './types.ts';

/** Label keys Triplane puts on everything it creates, so it can find its own objects again. */
export const LABEL = {
  store: 'triplane.store',
  role: 'triplane.role',
  hash: 'triplane.hash',
  pod: 'triplane.pod',
} as const;

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A Podman command run as the store's unix user. runuser keeps the environment we pass, so the
 * store's storage and runtime directory are used and never root's.
 */
export function podman(u: StoreUser, args: readonly string[], extra: Partial<Command> = {}): Command {
  return {
    argv: ['runuser', '-u', u.user, '--', 'podman', ...args],
    env: { PATH, HOME: u.home, XDG_RUNTIME_DIR: u.runtimeDir, LANG: 'C.UTF-8' },
    cwd: u.home,
    ...extra,
  };
}

function labelArgs(labels: Readonly<Record<string, string>>): string[] {
  return Object.keys(labels)
    .sort()
    .flatMap((k) => ['--label', `${k}=${labels[k]}`]);
}

/**
 * Every store network uses this subnet: rootless networks live in the store user's own network
 * namespace, so stores never clash, and fixed pod addresses keep Varnish's backends valid.
 */
export const STORE_SUBNET = '10.90.0.0/24';

/**
 * Where Podman picks the addresses of containers without a fixed one. Podman's allocator moves on
 * with every container ever started on a network, so without a range of their own the services
 * soon land on the pods' fixed addresses (app .11+, admin .201+).
 */
export const STORE_LEASE_RANGE = '10.90.0.64/26';

/** First address Podman reports in a network's lease range when it has STORE_LEASE_RANGE. */
export const STORE_LEASE_START = '10.90.0.65';

/** `podman network create` for the store's private bridge network (DNS on). */
export function networkCreate(u: StoreUser, name: string): Command {
  return podman(u, [
    'network',
    'create',
    '--subnet',
    STORE_SUBNET,
    '--ip-range',
    STORE_LEASE_RANGE,
    '--label',
    `${LABEL.store}=${u.store}`,
    name,
  ]);
}

/** Lists networks as JSON. */
export function networkList(u: StoreUser): Command {
  return podman(u, ['network', 'ls', '--format', 'json']);
}

/** `podman volume create` with the store label. */
export function volumeCreate(u: StoreUser, name: string): Command {
  return podman(u, ['volume', 'create', '--label', `${LABEL.store}=${u.store}`, name]);
}

/** Lists volumes as JSON. */
export function volumeList(u: StoreUser): Command {
  return podman(u, ['volume', 'ls', '--format', 'json']);
}

/**
 * Creates a secret from a file only the store user can read, so the value never appears in an argv or
 * a process list. (Podman 4.3 refuses `-` unless stdin is a FIFO, and Node's pipes are sockets.)
 */
export function secretCreate(u: StoreUser, name: string, file: string): Command {
  return podman(u, ['secret', 'create', name, file]);
}

/** Lists secret names, one per line (Podman 4.3's `secret ls` has no JSON format). */
export function secretList(u: StoreUser): Command {
  return podman(u, ['secret', 'ls', '--noheading', '--format', '{{.Name}}']);
}

/** `podman pod create` for an app or admin pod on the store network. */
export function podCreate(u: StoreUser, pod: PodSpec): Command {
  return podman(u, [
    'pod',
    'create',
    '--name',
    pod.name,
    '--infra-name',
    `${pod.name}-infra`,
    '--network',
    pod.network.name,
    '--ip',
    pod.ip,
    ...pod.network.aliases.flatMap((a) => ['--network-alias', a]),
    ...pod.publish.flatMap((p) => ['--publish', `${p.hostIp}:${p.hostPort}:${p.containerPort}`]),
    ...labelArgs(pod.labels),
  ]);
}

/** `podman run -d` for one container, restarted by Podman when its main process dies. */
export function containerRun(u: StoreUser, c: ContainerSpec): Command {
  const args = ['run', '--detach', '--name', c.name, '--restart', 'always', '--pull', 'never'];
  if (c.pod) args.push('--pod', c.pod);
  if (c.network) {
    args.push('--network', c.network.name, ...c.network.aliases.flatMap((a) => ['--network-alias', a]));
  }
  for (const p of c.publish) args.push('--publish', `${p.hostIp}:${p.hostPort}:${p.containerPort}`);
  for (const m of c.mounts) {
    const opts = m.readonly ? ':ro' : '';
    args.push('--volume', `${m.source}:${m.target}${opts}`);
  }
  for (const k of Object.keys(c.env).sort()) args.push('--env', `${k}=${c.env[k]}`);
  for (const s of Object.keys(c.secretEnv).sort())
    args.push('--secret', `${s},type=env,target=${c.secretEnv[s]}`);
  args.push(
    '--health-cmd',
    c.healthCmd,
    '--health-interval',
    'disable',
    '--health-retries',
    '3',
    '--health-timeout',
    '5s',
    '--log-driver',
    'k8s-file',
    '--log-opt',
    'max-size=10mb',
  );
  args.push(...labelArgs(c.labels), c.image, ...(c.command ?? []));
  return podman(u, args, { timeoutMs: 180_000 });
}

/** Lists the store's containers (all states) as JSON; `--pod` is what fills in `PodName`. */
export function containerList(u: StoreUser): Command {
  return podman(u, [
    'ps',
    '--all',
    '--pod',
    '--format',
    'json',
    '--filter',
    `label=${LABEL.store}=${u.store}`,
  ]);
}

/** Lists the store's pods as JSON. */
export function podList(u: StoreUser): Command {
  return podman(u, ['pod', 'ps', '--format', 'json', '--filter', `label=${LABEL.store}=${u.store}`]);
}

/** Inspects containers (restart counts, health, PIDs). */
export function containerInspect(u: StoreUser, names: readonly string[]): Command {
  return podman(u, ['container', 'inspect', ...names]);
}

/** Removes containers, stopping them first with a short grace period. */
export function containerRemove(u: StoreUser, names: readonly string[]): Command {
  return podman(u, ['rm', '--force', '--time', '10', ...names], { timeoutMs: 180_000 });
}

/** Removes pods and their containers. */
export function podRemove(u: StoreUser, names: readonly string[]): Command {
  return podman(u, ['pod', 'rm', '--force', '--time', '10', ...names], { timeoutMs: 180_000 });
}

/** Starts existing containers. */
export function containerStart(u: StoreUser, names: readonly string[]): Command {
  return podman(u, ['start', ...names]);
}

/** Restarts a container (used by the supervisor on failed health checks). */
export function containerRestart(u: StoreUser, name: string): Command {
  return podman(u, ['restart', '--time', '5', name]);
}

/**
 * Runs a container's health command once: exit 0 healthy, 1 unhealthy, 125 no health check. Podman
 * 4.3 only notices its own timeout after the command returns, so a hung check (a frozen process) is
 * cut by `timeout` and its exit 124 counts as unhealthy.
 */
export function healthcheckRun(u: StoreUser, name: string, timeoutSeconds = 10): Command {
  const cmd = podman(u, ['healthcheck', 'run', name], {
    okExitCodes: [0, 1, 124, 125],
    timeoutMs: (timeoutSeconds + 10) * 1000,
  });
  const [runuser, dashU, user, dashes, ...rest] = cmd.argv;
  return {
    ...cmd,
    argv: [runuser!, dashU!, user!, dashes!, 'timeout', '--kill-after=2', String(timeoutSeconds), ...rest],
  };
}

/** Image IDs of references in the user's storage; missing images make it exit 125. */
export function imageInspect(u: StoreUser | null, refs: readonly string[]): Command {
  const args = ['image', 'inspect', '--format', '{{.Id}}', ...refs];
  return u
    ? podman(u, args, { okExitCodes: [0, 125] })
    : { argv: ['podman', ...args], okExitCodes: [0, 125] };
}

/** Root's `podman save` of several images into one archive, to be loaded by a store user. */
export function imageSave(refs: readonly string[], archive: string): Command {
  return {
    argv: ['podman', 'save', '--multi-image-archive', '--output', archive, ...refs],
    timeoutMs: 600_000,
  };
}

/** Pulls an image from a registry into the store user's storage (for stacks naming upstream images). */
export function imagePull(u: StoreUser, ref: string): Command {
  return podman(u, ['pull', ref], { timeoutMs: 900_000 });
}

/** Loads an image archive into the store user's storage. */
export function imageLoad(u: StoreUser, archive: string): Command {
  return podman(u, ['load', '--input', archive], { timeoutMs: 600_000 });
}

/** Removes volumes (only by `destroy`). */
export function volumeRemove(u: StoreUser, names: readonly string[]): Command {
  return podman(u, ['volume', 'rm', '--force', ...names]);
}

/** Removes the store network (only by `destroy`). */
export function networkRemove(u: StoreUser, name: string): Command {
  return podman(u, ['network', 'rm', '--force', name]);
}

/** Removes secrets (only by `destroy`). */
export function secretRemove(u: StoreUser, names: readonly string[]): Command {
  return podman(u, ['secret', 'rm', ...names]);
}
