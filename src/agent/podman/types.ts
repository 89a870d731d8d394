import type { ContainerRole } from '../../contracts/status.ts';

/** The rootless identity a store's Podman commands run as. */
export interface StoreUser {
  readonly store: string;
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly runtimeDir: string;
}

/** A mount: a named volume or a host directory. */
export interface Mount {
  readonly type: 'volume' | 'bind';
  readonly source: string;
  readonly target: string;
  readonly readonly?: boolean;
}

/** A host address and port forwarded to a port inside the container or pod. */
export interface PortMapping {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
}

/** Everything `podman run` needs to create one container, as data. */
export interface ContainerSpec {
  readonly name: string;
  readonly store: string;
  readonly role: ContainerRole;
  readonly image: string;
  /** Pod to join; a container in a pod shares the pod's network namespace. */
  readonly pod?: string;
  /** Network and DNS aliases, for containers outside pods. */
  readonly network?: { readonly name: string; readonly aliases: readonly string[] };
  readonly command?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Podman secrets exposed as environment variables: secret name → variable. */
  readonly secretEnv: Readonly<Record<string, string>>;
  readonly mounts: readonly Mount[];
  readonly publish: readonly PortMapping[];
  /** Shell command run by `podman healthcheck run`; Podman never schedules it here, the supervisor does. */
  readonly healthCmd: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** An app or admin pod: nginx and PHP-FPM sharing one network namespace. */
export interface PodSpec {
  readonly name: string;
  readonly store: string;
  readonly role: 'app' | 'admin';
  readonly network: { readonly name: string; readonly aliases: readonly string[] };
  /** Fixed address on the store network, so Varnish's backends survive a pod being replaced. */
  readonly ip: string;
  /** Ports the pod publishes on the host (the infra container holds them for every member). */
  readonly publish: readonly PortMapping[];
  readonly labels: Readonly<Record<string, string>>;
}
