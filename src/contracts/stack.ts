import { z } from 'zod';
import { StorePolicy } from './snapshot.ts';
import { Duration, parseSize, Size } from './units.ts';

/** Store names become unix users, Podman names and DNS labels, so they are kept short and plain. */
export const StoreName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,29}$/, {
    error: (iss) =>
      `expected lowercase letters, digits and dashes, starting with a letter, at most 30 characters, got ${JSON.stringify(iss.input)}`,
  })
  .describe('Store name: becomes the unix user `tp-<name>`, container names and `<name>.localhost`.');

const Hostname = z
  .string()
  .regex(/^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    error: (iss) => `expected a domain name like "shop.example.com", got ${JSON.stringify(iss.input)}`,
  });

const ImageRef = z.string().regex(/^[a-z0-9][a-z0-9._/:@-]*$/i, {
  error: (iss) =>
    `expected an image reference like "localhost/triplane/redis:latest", got ${JSON.stringify(iss.input)}`,
});

const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const CronSchedule = z.string().refine(
  (s) => {
    const fields = s.trim().split(/\s+/);
    return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
  },
  {
    error: (iss) =>
      `expected a five-field cron schedule like "*/5 * * * *", got ${JSON.stringify(iss.input)}`,
  },
);

/** Snapshot backups of the database, the media volume and the stack (docs/backups.md). */
const Backups = z.strictObject({
  enabled: z.boolean().default(true).describe('Take scheduled backups.'),
  schedule: CronSchedule.default('30 3 * * *').describe(
    'When scheduled backups start (five-field cron, server time): daily by default.',
  ),
  retentionDays: z
    .int()
    .min(1)
    .max(3650)
    .default(7)
    .describe('Backups older than this many days are removed from the repository.'),
  verify: z
    .boolean()
    .default(true)
    .describe(
      'Restore every backup into a throwaway database and compare it with the values taken at dump time.',
    ),
});

/** PHP settings applied by the php-fpm image's entrypoint. */
const Php = z.strictObject({
  memoryLimit: Size.default('756mb').describe('PHP `memory_limit` of each FPM worker.'),
  maxExecutionTime: z.int().min(1).max(3600).default(60).describe('PHP `max_execution_time` in seconds.'),
  opcache: z.boolean().default(true).describe('Enable OPcache.'),
  fpmMaxChildren: z.int().min(1).max(256).default(8).describe('PHP-FPM `pm.max_children` per app pod.'),
});

const Replicas = z
  .strictObject({
    min: z
      .int()
      .min(1)
      .max(32)
      .default(1)
      .describe('Pods started by `apply`; the autoscaler never goes below.'),
    max: z.int().min(1).max(32).default(4).describe('Upper bound for the autoscaler.'),
  })
  .check((ctx) => {
    if (ctx.value.min > ctx.value.max) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: ['min'],
        message: `min (${ctx.value.min}) must not be greater than max (${ctx.value.max})`,
      });
    }
  });

/** The storefront: nginx + PHP-FPM pods. */
const App = z.strictObject({
  image: ImageRef.default('localhost/triplane/php-fpm:latest').describe('PHP-FPM image of each app pod.'),
  webImage: ImageRef.default('localhost/triplane/nginx:latest').describe('nginx image of each app pod.'),
  code: z
    .string()
    .min(1)
    .default('./app')
    .describe('Directory with the store code (relative to the stack file); `pub/` is the document root.'),
  php: Php.prefault({}),
  replicas: Replicas.prefault({}),
  autoscale: z
    .strictObject({
      cpuPercent: z.int().min(10).max(95).default(70).describe('Target average CPU of the app pods.'),
    })
    .prefault({})
    .describe('Targets for the autoscaler.'),
  env: z
    .record(
      z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'expected an UPPER_SNAKE_CASE variable name' }),
      z.string(),
    )
    .default({})
    .describe('Extra environment variables for app, admin and cron containers.'),
});

const Admin = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe('Run a separate admin pod that serves `pathPrefix` (never cached).'),
  pathPrefix: z
    .string()
    .regex(/^\/[a-z0-9_-]+$/i, {
      error: (iss) => `expected a path like "/admin", got ${JSON.stringify(iss.input)}`,
    })
    .default('/admin')
    .describe('Requests under this path go to the admin pod.'),
  replicas: z.int().min(1).max(4).default(1).describe('Admin pods.'),
});

const EvictionPolicy = z.enum([
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'volatile-lru',
  'volatile-lfu',
  'allkeys-random',
]);

function redisPartition(defaults: {
  maxmemory: string;
  policy: z.infer<typeof EvictionPolicy>;
  persistence: 'none' | 'aof';
}) {
  return z
    .strictObject({
      maxmemory: Size.default(defaults.maxmemory).describe('Redis `maxmemory`.'),
      policy: EvictionPolicy.default(defaults.policy).describe('Redis `maxmemory-policy`.'),
      persistence: z
        .enum(['none', 'aof'])
        .default(defaults.persistence)
        .describe('`aof` keeps an append-only file on a volume; `none` keeps nothing on disk.'),
    })
    .prefault({});
}

const Varnish = z.strictObject({
  image: ImageRef.default('localhost/triplane/varnish:latest').describe('Varnish image.'),
  memory: Size.default('256mb').describe('Cache storage (`-s malloc`).'),
  grace: Duration.default('300s').describe(
    'How long stale pages are served while the app pods are unhealthy.',
  ),
  ttl: Duration.default('86400s').describe('Default TTL for cacheable pages without `s-maxage`.'),
  port: z
    .union([z.literal('auto'), z.int().min(1024).max(65535)])
    .default('auto')
    .describe('Loopback port Varnish is published on; `auto` picks a free one and keeps it.'),
});

const Services = z.strictObject({
  varnish: Varnish.prefault({}),
  redis: z
    .strictObject({
      image: ImageRef.default('localhost/triplane/redis:latest').describe('Redis image for all partitions.'),
      partitions: z
        .strictObject({
          cache: redisPartition({ maxmemory: '256mb', policy: 'allkeys-lru', persistence: 'none' }),
          page: redisPartition({ maxmemory: '256mb', policy: 'allkeys-lru', persistence: 'none' }),
          session: redisPartition({ maxmemory: '128mb', policy: 'noeviction', persistence: 'aof' }),
        })
        .prefault({}),
    })
    .prefault({}),
  rabbitmq: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Run RabbitMQ for asynchronous work (orders, indexers).'),
      image: ImageRef.default('localhost/triplane/rabbitmq:latest').describe('RabbitMQ image.'),
    })
    .prefault({}),
  cron: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Run the cron runner (always exactly one per store).'),
      image: ImageRef.default('localhost/triplane/cron:latest').describe('Cron runner image (PHP + cron).'),
      jobs: z
        .array(
          z.strictObject({
            name: z.string().regex(/^[a-z0-9-]+$/, {
              error: (iss) => `expected a job name like "consume-orders", got ${JSON.stringify(iss.input)}`,
            }),
            schedule: CronSchedule,
            command: z.string().min(1).describe('Shell command run as www-data in /var/www/app.'),
          }),
        )
        .default([])
        .describe('Jobs run by the cron runner; a job never overlaps itself.'),
    })
    .prefault({}),
  search: z
    .strictObject({
      enabled: z.boolean().default(false).describe('Catalog search service (OpenSearch).'),
      image: ImageRef.optional().describe('OpenSearch image to run (needs a registry or a local build).'),
      endpoint: z.url().optional().describe('External OpenSearch endpoint (e.g. Amazon OpenSearch Service).'),
    })
    .check((ctx) => {
      const s = ctx.value;
      if (s.enabled && !s.image && !s.endpoint) {
        ctx.issues.push({
          code: 'custom',
          input: s.enabled,
          path: ['enabled'],
          message: 'search is enabled but neither `image` nor `endpoint` is set',
        });
      }
      if (s.image && s.endpoint) {
        ctx.issues.push({
          code: 'custom',
          input: s.endpoint,
          path: ['endpoint'],
          message: 'set `image` or `endpoint`, not both',
        });
      }
    })
    .prefault({}),
  database: z
    .strictObject({
      image: ImageRef.default('localhost/triplane/mariadb:latest').describe('MariaDB image.'),
      name: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,63}$/)
        .default('store')
        .describe('Database name.'),
      user: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,31}$/)
        .default('store')
        .describe('Database user of the app.'),
      bufferPool: Size.default('256mb').describe('InnoDB buffer pool size.'),
    })
    .prefault({}),
});

/** A store's whole stack, one file per store (`triplane.yaml`). Every field has a default but `name`. */
export const StackSpec = z
  .strictObject({
    apiVersion: z.literal('triplane/v1').default('triplane/v1').describe('Schema version of this file.'),
    name: StoreName,
    domains: z
      .array(Hostname)
      .default([])
      .describe('Domains the store answers on; `<name>.localhost` is always added locally.'),
    app: App.prefault({}),
    admin: Admin.prefault({}),
    services: Services.prefault({}),
    edge: StorePolicy.omit({ store: true })
      .extend({
        rateLimits: StorePolicy.shape.rateLimits
          .unwrap()
          .default([{ class: 'default', pathPrefixes: [], methods: [], ratePerSec: 50, burst: 100 }]),
      })
      .prefault({})
      .describe(
        'What the edge enforces for this store: rate limits, IP lists, bot rules, edge cache, overload limits, WAF.',
      ),
    media: z
      .strictObject({
        size: Size.default('10gb').describe(
          'Expected size of the shared media volume (sizes EFS/EBS on AWS; local volumes are not quota-limited).',
        ),
      })
      .prefault({}),
    backups: Backups.prefault({}),
  })
  .check((ctx) => {
    const mem = parseSize(ctx.value.app.php.memoryLimit) ?? 0;
    if (mem < 64 * 1024 ** 2) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value.app.php.memoryLimit,
        path: ['app', 'php', 'memoryLimit'],
        message: `PHP needs at least 64mb, got ${JSON.stringify(ctx.value.app.php.memoryLimit)}`,
      });
    }
  });

/** A validated stack with every default filled in. */
export type StackSpec = z.infer<typeof StackSpec>;
/** What a user may write: every field but `name` is optional. */
export type StackSpecInput = z.input<typeof StackSpec>;
