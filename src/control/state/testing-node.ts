import { createInterface } from 'node:readline';
import { validateStack } from '../../contracts/validate.ts';
import { openState } from './state.ts';

// Test helper run as a child process: one "control node" working on a shared database, so that tests
// race real separate processes (and, on SQLite, separate file locks). It opens the state, prints
// "ready", waits for "go" on stdin so that all nodes start together, runs its task and prints the
// results as one JSON line.

/** What a node does; every task is one of the races the state store promises to win. */
export type NodeTask =
  | { kind: 'open' }
  | { kind: 'apply'; count: number }
  | { kind: 'claim'; worker: string; parallel: number }
  | { kind: 'publish'; pool: string }
  | { kind: 'register'; joinToken: string; name: string };

/** The arguments of one node. */
export interface NodeArgs {
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly task: NodeTask;
}

async function runTask(args: NodeArgs): Promise<unknown> {
  const state = await openState({ databaseUrl: args.databaseUrl, dataDir: args.dataDir });
  try {
    process.stdout.write('ready\n');
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) if (line === 'go') break;
    lines.close();
    const task = args.task;
    switch (task.kind) {
      case 'open':
        return 'opened';
      case 'apply': {
        const spec = validateStack({ name: 'demo' });
        if (!spec.ok) throw new Error('invalid test spec');
        const versions: number[] = [];
        for (let i = 0; i < task.count; i++) {
          versions.push(
            (await state.stacks.apply('demo', 'production', spec.spec, `node-${process.pid}`)).version,
          );
        }
        return versions;
      }
      case 'claim': {
        const claimed: string[] = [];
        const claimer = async (n: number) => {
          for (;;) {
            const job = await state.jobs.claim(`${task.worker}-${n}`, ['race']);
            if (!job) return;
            claimed.push(job.id);
          }
        };
        await Promise.all(Array.from({ length: task.parallel }, (_, n) => claimer(n)));
        return claimed;
      }
      case 'publish': {
        const r = await state.snapshots.publish({
          pools: [{ id: task.pool, members: [{ host: '127.0.0.1', port: 9000 }] }],
        });
        return { version: r.snapshot.version, changed: r.changed };
      }
      case 'register':
        try {
          return (await state.nodes.register({ joinToken: task.joinToken, name: task.name })).node.id;
        } catch (e) {
          return (e as { code?: string }).code ?? String(e);
        }
    }
  } finally {
    await state.close();
  }
}

const result = await runTask(JSON.parse(process.argv[2]!) as NodeArgs);
process.stdout.write(`${JSON.stringify(result)}\n`);
