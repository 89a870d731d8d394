import { z } from 'zod';

/** What a container does for its store; the vocabulary of `triplane status`. */
export const ContainerRole = z.enum([
  'app',
  'admin',
  'varnish',
  'redis-cache',
  'redis-page',
  'redis-session',
  'rabbitmq',
  'cron',
  'database',
  'search',
]);
/** What a container does for its store. */
export type ContainerRole = z.infer<typeof ContainerRole>;

/** One container as `triplane status --json` reports it. */
export const ContainerStatus = z.strictObject({
  store: z.string(),
  role: ContainerRole,
  name: z.string(),
  state: z.string().describe('Podman state: running, exited, created, …'),
  health: z.enum(['healthy', 'unhealthy', 'starting', 'none']),
  restarts: z.int().min(0).describe('Restarts by the restart policy plus restarts by the supervisor.'),
  user: z.string().describe('Unix user the container runs as (rootless Podman).'),
});
/** One container as `triplane status --json` reports it. */
export type ContainerStatus = z.infer<typeof ContainerStatus>;
