/**
 * Runs the ModSecurity reference until SIGINT or SIGTERM, for benchmarks and by hand:
 *   node --import tsx test/waf-differential/serve-reference.ts --paranoia 1 --port 8090 [--workers 2] [--audit-log]
 * Prints `ready http://127.0.0.1:PORT` once it answers. Port 0 (the default) picks a free one.
 */
import { parseArgs } from 'node:util';
import { type Paranoia, startModSecurity } from './modsecurity.ts';

const { values } = parseArgs({
  options: {
    paranoia: { type: 'string', default: '1' },
    port: { type: 'string', default: '0' },
    workers: { type: 'string', default: '2' },
    'audit-log': { type: 'boolean', default: false },
  },
});

const paranoia = Number(values.paranoia);
const port = Number(values.port);
const workers = Number(values.workers);
const problems = [
  ...(paranoia === 1 || paranoia === 2 ? [] : [`--paranoia: expected 1 or 2, got "${values.paranoia}"`]),
  ...(Number.isInteger(port) && port >= 0 && port < 65536
    ? []
    : [`--port: expected a port number, got "${values.port}"`]),
  ...(Number.isInteger(workers) && workers >= 1
    ? []
    : [`--workers: expected a positive integer, got "${values.workers}"`]),
];
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(2);
}

const ref = await startModSecurity({
  paranoia: paranoia as Paranoia,
  ...(port === 0 ? {} : { port }),
  workers,
  auditLog: values['audit-log'],
});
console.log(`ready ${ref.url}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    ref.stop().then(() => process.exit(0));
  });
}
