/**
 * Debian packages a Triplane host needs. `catatonit` is only a Recommends of podman, so with
 * `--no-install-recommends` it must be named: without it `pod create` fails ("finding pause binary").
 * netavark sets up bridge networks with iptables and fails with "No such file or directory" without it.
 * modsecurity-crs is the OWASP Core Rule Set the edge's WAF runs, exactly as Debian ships it.
 * restic keeps the stores' backup repositories (deduplicated, encrypted).
 */
export const REQUIRED_PACKAGES = [
  'podman',
  'runc',
  'crun',
  'slirp4netns',
  'uidmap',
  'fuse-overlayfs',
  'mmdebstrap',
  'netavark',
  'aardvark-dns',
  'catatonit',
  'iptables',
  'modsecurity-crs',
  'restic',
] as const;

/** One of the packages in {@link REQUIRED_PACKAGES}. */
export type HostPackage = (typeof REQUIRED_PACKAGES)[number];

/** How the cgroup filesystems are mounted: `hybrid` is v1 controllers plus a cgroup2 mount beside them. */
export type CgroupLayout = 'v2' | 'hybrid' | 'v1' | 'none';

/** What a probe found on a host; plain data so it can be printed, compared and sent over the wire. */
export interface HostFacts {
  /** The required packages dpkg reports as installed, in {@link REQUIRED_PACKAGES} order. */
  readonly installedPackages: readonly HostPackage[];
  readonly cgroup: CgroupLayout;
  /** `/run/systemd/system` exists: the same test as systemd's own `sd_booted()`. */
  readonly systemd: boolean;
  /** Command name of PID 1, for messages. */
  readonly pid1: string;
  /** Hard limit on open files of processes the executor starts; `null` means unlimited. */
  readonly hardNofile: number | null;
  /** Hard limit on processes of processes the executor starts; `null` means unlimited. */
  readonly hardNproc: number | null;
  /** Permission bits of `/dev/net/tun`, or `null` when the device does not exist. */
  readonly tunMode: number | null;
  /** Current text of the containers.conf drop-in, or `null` when it does not exist. */
  readonly dropIn: string | null;
  /** `kernel.unprivileged_userns_clone` (Debian kernels only), or `null` when the kernel lacks it. */
  readonly unprivilegedUsernsClone: boolean | null;
  /** `user.max_user_namespaces`, or `null` when the kernel has no user namespaces. */
  readonly maxUserNamespaces: number | null;
  /** `kernel.sched_autogroup_enabled`, or `null` when the kernel has no autogroup scheduling. */
  readonly autogroup: boolean | null;
  /** Current text of Triplane's sysctl file, or `null` when it does not exist. */
  readonly sysctlConf: string | null;
  /** Each block device's I/O schedulers, as `/sys/block/NAME/queue/scheduler` lists them. */
  readonly disks: readonly DiskScheduler[];
  /** Current text of Triplane's udev rule for disk schedulers, or `null` when it does not exist. */
  readonly ioschedRule: string | null;
}

/** A block device's I/O scheduler: the one in use and the ones the kernel offers for it. */
export interface DiskScheduler {
  readonly name: string;
  readonly current: string;
  readonly available: readonly string[];
}

/**
 * The disks whose scheduler Triplane sets to BFQ: real disks (not loop, RAM or zram devices) whose
 * kernel offers BFQ.
 */
export function bfqDisks(facts: HostFacts): DiskScheduler[] {
  return facts.disks.filter((d) => !/^(loop|ram|zram)/.test(d.name) && d.available.includes('bfq'));
}

/** The required packages that are not installed, in {@link REQUIRED_PACKAGES} order. */
export function missingPackages(facts: HostFacts): HostPackage[] {
  return REQUIRED_PACKAGES.filter((p) => !facts.installedPackages.includes(p));
}

/** Whether other users may read and write `/dev/net/tun`, which slirp4netns opens for rootless networking. */
export function tunUsableByStores(facts: HostFacts): boolean {
  return facts.tunMode !== null && (facts.tunMode & 0o006) === 0o006;
}
