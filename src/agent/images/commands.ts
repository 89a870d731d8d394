/** Packages added to Debian's minbase; bash runs the health commands (`bash -c '</dev/tcp/...'`). */
export const BASE_PACKAGES: readonly string[] = ['bash', 'ca-certificates'];

/** The host's apt sources, given to mmdebstrap so the image uses the host's (snapshot) mirror. */
export const DEFAULT_APT_SOURCES = '/etc/apt/sources.list.d/debian.sources';

const HOOKS = '/usr/share/mmdebstrap/hooks';

/** What `mmdebstrapArgv` needs: where the tarball goes and which apt sources file to use. */
export interface MmdebstrapOptions {
  readonly output: string;
  readonly aptSources: string;
}

/** `mmdebstrap` making the Debian bookworm base tarball; images/base/README.md says why each flag. */
export function mmdebstrapArgv(opts: MmdebstrapOptions): string[] {
  return [
    'mmdebstrap',
    '--variant=minbase',
    `--include=${BASE_PACKAGES.join(',')}`,
    `--hook-dir=${HOOKS}/merged-usr`,
    `--hook-dir=${HOOKS}/eatmydata`,
    '--aptopt=Acquire::Check-Valid-Until "false"',
    '--aptopt=APT::Install-Recommends "false"',
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    '--dpkgopt=path-exclude=/usr/share/info/*',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--dpkgopt=force-unsafe-io',
    'bookworm',
    opts.output,
    opts.aptSources,
  ];
}

/** `podman import` of the base tarball under its hash tag, labelled like the built images. */
export function podmanImportArgv(tarball: string, ref: string, hash: string): string[] {
  return [
    'podman',
    'import',
    '--change',
    'CMD ["/bin/bash"]',
    '--change',
    `LABEL triplane.image.hash=${hash}`,
    tarball,
    ref,
  ];
}

/** What `podmanBuildArgv` needs to build one image folder. */
export interface BuildOptions {
  /** The image folder, holding its Containerfile. */
  readonly dir: string;
  /** The repository, e.g. `localhost/triplane/nginx`. */
  readonly repository: string;
  readonly hash: string;
  readonly hashTag: string;
  /** The parent's hash-tagged reference, passed as the Containerfile's `BASE_IMAGE` build arg. */
  readonly parentRef: string;
}

/**
 * `podman build` of one image. The parent is named by its hash tag rather than `latest`, so a
 * child is always built on the exact parent whose hash went into its own.
 */
export function podmanBuildArgv(opts: BuildOptions): string[] {
  return [
    'podman',
    'build',
    '--network=host',
    '--pull=never',
    '--label',
    `triplane.image.hash=${opts.hash}`,
    '--build-arg',
    `BASE_IMAGE=${opts.parentRef}`,
    '-t',
    `${opts.repository}:latest`,
    '-t',
    `${opts.repository}:${opts.hashTag}`,
    '-f',
    `${opts.dir}/Containerfile`,
    opts.dir,
  ];
}

/** `podman tag`, used to point `latest` at the image of the current hash. */
export function podmanTagArgv(source: string, target: string): string[] {
  return ['podman', 'tag', source, target];
}

/** `podman image exists`: exit 0 if the reference exists, 1 if not. */
export function podmanImageExistsArgv(ref: string): string[] {
  return ['podman', 'image', 'exists', ref];
}
