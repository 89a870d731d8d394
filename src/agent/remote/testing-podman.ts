import { cpSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { CommandError } from '../errors.ts';
import type { Command, CommandResult, Executor } from '../executor.ts';

interface FakeContainer {
  labels: Record<string, string>;
  state: string;
  health: 'starting' | 'healthy' | 'unhealthy';
  pod: string | undefined;
}

/** The Podman commands that only read; anything else changes the host. */
export const READ_ONLY =
  /podman (ps|pod ps|network ls|volume ls|secret ls|image inspect|container inspect)\b/;

function labelsOf(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  args.forEach((a, i) => {
    const v = args[i + 1];
    if (a === '--label' && v) out[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
  });
  return out;
}

const flag = (args: readonly string[], name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

/**
 * A test executor that behaves like one store user's Podman, in memory: what `run`, `pod create` and
 * friends create, `ps` and `inspect` show afterwards, so a real applyStack can run against it twice.
 * A container turns healthy once its health check has run (as the supervisor does). The few file
 * commands of a code release (rm, mkdir, cp, chown, mv) act on the real (temporary) directories.
 */
export class FakePodman implements Executor {
  readonly networks = new Set<string>();
  readonly volumes = new Set<string>();
  readonly secrets = new Set<string>();
  readonly pods = new Map<string, Record<string, string>>();
  readonly containers = new Map<string, FakeContainer>();
  /** Every argv run, joined with spaces. */
  readonly log: string[] = [];

  async run(cmd: Command): Promise<CommandResult> {
    const line = cmd.argv.join(' ');
    this.log.push(line);
    const at = cmd.argv.indexOf('podman');
    const out = at >= 0 ? this.podman(cmd.argv.slice(at + 1), line) : this.file(cmd.argv, line);
    return { argv: cmd.argv, durationMs: 0, stderr: '', exitCode: 0, ...out };
  }

  private file(argv: readonly string[], line: string): { stdout: string } {
    const paths = argv.slice(argv.indexOf('--') + 1);
    switch (argv[0]) {
      case 'rm':
        rmSync(paths[0]!, { recursive: true, force: true });
        break;
      case 'mkdir':
        mkdirSync(paths[0]!, { recursive: true });
        break;
      case 'cp':
        cpSync(paths[0]!.replace(/\/\.$/, ''), paths[1]!, { recursive: true });
        break;
      case 'chown':
        break;
      case 'mv':
        renameSync(paths[0]!, paths[1]!);
        break;
      default:
        throw new CommandError('TP_CMD_SPAWN', `fake podman cannot run ${line}`, argv, null, '', '');
    }
    return { stdout: '' };
  }

  private podman(args: readonly string[], line: string): { stdout: string; exitCode?: number } {
    const [a, b] = args;
    const names = (from: number) => args.slice(from).filter((x) => !x.startsWith('--') && !/^\d+$/.test(x));
    const json = (v: unknown) => ({ stdout: JSON.stringify(v) });
    switch (
      a === 'pod' ||
      a === 'network' ||
      a === 'volume' ||
      a === 'secret' ||
      a === 'image' ||
      a === 'container' ||
      a === 'healthcheck'
        ? `${a} ${b}`
        : a
    ) {
      case 'network ls':
        return json([...this.networks].map((name) => ({ name })));
      case 'network create':
        this.networks.add(args.at(-1)!);
        return { stdout: '' };
      case 'volume ls':
        return json([...this.volumes].map((Name) => ({ Name })));
      case 'volume create':
        this.volumes.add(args.at(-1)!);
        return { stdout: '' };
      case 'secret ls':
        return { stdout: [...this.secrets].map((s) => `${s}\n`).join('') };
      case 'secret create':
        this.secrets.add(args[2]!);
        return { stdout: '' };
      case 'pod ps':
        return json([...this.pods].map(([Name, Labels]) => ({ Name, Labels })));
      case 'pod create':
        this.pods.set(flag(args, '--name')!, labelsOf(args));
        return { stdout: '' };
      case 'pod rm':
        for (const p of names(2)) {
          this.pods.delete(p);
          for (const [n, c] of this.containers) if (c.pod === p) this.containers.delete(n);
        }
        return { stdout: '' };
      case 'ps':
        return json(
          [...this.containers].map(([n, c]) => ({
            Names: [n],
            Labels: c.labels,
            State: c.state,
            PodName: c.pod ?? '',
            IsInfra: false,
          })),
        );
      case 'container inspect':
        return json(
          names(2).map((n) => {
            const c = this.containers.get(n)!;
            return {
              Name: n,
              RestartCount: 0,
              Config: { Labels: c.labels },
              State: { Status: c.state, Pid: 4242, Health: { Status: c.health } },
            };
          }),
        );
      case 'run':
        this.containers.set(flag(args, '--name')!, {
          labels: labelsOf(args),
          state: 'running',
          health: 'starting',
          pod: flag(args, '--pod'),
        });
        return { stdout: 'container-id\n' };
      case 'rm':
        for (const n of names(1)) this.containers.delete(n);
        return { stdout: '' };
      case 'start':
      case 'restart':
        for (const n of names(1)) this.containers.get(n)!.state = 'running';
        return { stdout: '' };
      case 'healthcheck run': {
        const c = this.containers.get(args[2]!);
        if (c) c.health = 'healthy';
        return { stdout: '', exitCode: c ? 0 : 125 };
      }
      case 'image inspect':
        return {
          stdout: names(2)
            .filter((r) => r !== '{{.Id}}')
            .map((r) => `sha256-${r}\n`)
            .join(''),
        };
      default:
        throw new CommandError('TP_CMD_SPAWN', `fake podman cannot run ${line}`, args, null, '', '');
    }
  }
}
