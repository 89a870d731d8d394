import { readFileSync } from 'node:fs';

/** What a host runs; each kind is its own autoscaling group. */
export type HostRole = 'edge' | 'app' | 'admin' | 'services' | 'control';

/** The script files the user data is assembled from, in order; each defines shell functions only. */
export const USERDATA_SECTIONS = [
  'prepare-podman.sh',
  'install.sh',
  'units.sh',
  'agent.sh',
  'edge.sh',
  'control.sh',
] as const;
/** One of {@link USERDATA_SECTIONS}. */
export type UserDataSection = (typeof USERDATA_SECTIONS)[number];

const SECTION_TEXT: Record<UserDataSection, string> = Object.fromEntries(
  USERDATA_SECTIONS.map((name) => [
    name,
    readFileSync(new URL(`./userdata/${name}`, import.meta.url), 'utf8'),
  ]),
) as Record<UserDataSection, string>;

/** What a host's boot script needs; values may be CDK tokens (bucket names, endpoints, ARNs). */
export interface BootstrapProps {
  readonly role: HostRole;
  readonly store: string;
  readonly environment: string;
  readonly region: string;
  readonly nodeVersion: string;
  /** Where the Triplane release (a zip of the project's source) is in S3. */
  readonly release: { readonly bucket: string; readonly key: string };
  /**
   * Key of the store's code zip in the release bucket.
   * @default - no code is shipped: the store's image holds it
   */
  readonly codeKey?: string;
  /** More `TRIPLANE_*` variables: endpoints, secret ARNs, the control plane's URL. */
  readonly variables?: Readonly<Record<string, string>>;
}

/** Hosts that run store containers and so need Podman. */
const PODMAN_ROLES: readonly HostRole[] = ['app', 'admin', 'services'];

/** The functions each role calls after the common ones, in order. */
const ROLE_STEPS: Record<HostRole, readonly string[]> = {
  edge: ['start_edge'],
  control: ['start_control'],
  app: ['mount_media', 'start_agent'],
  admin: ['mount_media', 'start_agent'],
  services: ['attach_state_volume', 'mount_media', 'start_agent'],
};

/** Single-quotes a value for bash; CDK tokens carry no quotes, so they pass through unchanged. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The sections a host of `role` needs, and no more: EC2 takes at most 16 KiB of user data. */
export function sectionsFor(role: HostRole): UserDataSection[] {
  const own: UserDataSection[] = PODMAN_ROLES.includes(role)
    ? ['prepare-podman.sh', 'agent.sh']
    : [`${role as 'edge' | 'control'}.sh`];
  return USERDATA_SECTIONS.filter(
    (name) => name === 'install.sh' || name === 'units.sh' || own.includes(name),
  );
}

/** The function calls a host of `role` makes at boot, in order. */
export function bootSteps(role: HostRole): string[] {
  return [
    'write_environment',
    'install_tools',
    ...(PODMAN_ROLES.includes(role) ? ['prepare_podman'] : []),
    'install_node',
    'install_triplane',
    ...ROLE_STEPS[role],
  ];
}

/**
 * The boot script of a host: variables, then every section between `# >>> name` and `# <<< name`
 * markers (so tests can lift one out and run it), then the role's steps. Pure: same props, same text.
 */
export function renderUserData(props: BootstrapProps): string {
  const variables: Record<string, string> = {
    TRIPLANE_ROLE: props.role,
    TRIPLANE_STORE: props.store,
    TRIPLANE_ENVIRONMENT: props.environment,
    TRIPLANE_REGION: props.region,
    TRIPLANE_NODE_VERSION: props.nodeVersion,
    TRIPLANE_RELEASE_BUCKET: props.release.bucket,
    TRIPLANE_RELEASE_KEY: props.release.key,
    ...(props.codeKey ? { TRIPLANE_CODE_KEY: props.codeKey } : {}),
    ...props.variables,
  };
  for (const name of Object.keys(variables)) {
    if (!/^TRIPLANE_[A-Z0-9_]+$/.test(name)) throw new Error(`user data variable ${name} must be TRIPLANE_*`);
  }
  return [
    '#!/bin/bash',
    `# Triplane ${props.role} host of store ${props.store} (${props.environment}), assembled from src/cloud/aws/userdata/.`,
    'set -euo pipefail',
    'exec > >(tee -a /var/log/triplane-bootstrap.log) 2>&1',
    ...Object.entries(variables).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    '',
    ...sectionsFor(props.role).flatMap((name) => [
      `# >>> ${name}`,
      SECTION_TEXT[name].trimEnd(),
      `# <<< ${name}`,
      '',
    ]),
    ...bootSteps(props.role),
    '',
  ].join('\n');
}

/** The text of one section of a rendered boot script, without its markers. */
export function extractSection(userData: string, name: UserDataSection): string {
  const start = userData.indexOf(`# >>> ${name}\n`);
  const end = userData.indexOf(`\n# <<< ${name}`);
  if (start < 0 || end < start) throw new Error(`user data has no section ${name}`);
  return userData.slice(start + `# >>> ${name}\n`.length, end);
}
