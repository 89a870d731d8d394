import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CloudError } from '../cloud/aws/errors.ts';
import type { synthesize } from '../cloud/aws/synth.ts';
import type { ToolkitAction } from '../cloud/aws/toolkit.ts';
import { EXIT, progress } from './output.ts';

/** Options every `triplane cloud` command takes. */
interface CloudOptions {
  file: string;
  env: string;
  out: string;
  settings?: string;
  profile?: string;
  print?: boolean;
  requireApproval?: 'never' | 'any-change' | 'broadening';
  force?: boolean;
}

/** Runs an argv with the terminal attached; resolves with its exit code. */
function run(argv: readonly string[]): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    child.on('error', fail);
    child.on('exit', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

/** Synthesises, reporting every problem of an undeployable stack at once; undefined when it could not. */
async function synthOrReport(o: CloudOptions): Promise<ReturnType<typeof synthesize> | undefined> {
  const say = progress('cloud');
  // The CDK takes seconds to load: only the cloud commands pay for it.
  const { synthesize } = await import('../cloud/aws/synth.ts');
  try {
    const started = performance.now();
    const r = synthesize({
      stackFile: o.file,
      environment: o.env,
      outDir: o.out,
      ...(o.settings ? { settingsFile: o.settings } : {}),
    });
    for (const note of r.notes) say(note);
    say(
      `${r.stackName} synthesised in ${((performance.now() - started) / 1000).toFixed(1)}s: ${r.templateFile}`,
    );
    return r;
  } catch (e) {
    if (!(e instanceof CloudError) || e.code !== 'TP_CLOUD_INVALID') throw e;
    process.stderr.write(`error ${e.code}: ${e.message}\nnothing was written\n`);
    process.exitCode = EXIT.invalid;
    return undefined;
  }
}

/** Registers `triplane cloud synth|diff|deploy|destroy|bootstrap`. */
export function registerCloudCommands(program: Command): void {
  const cloud = program
    .command('cloud')
    .description('the stack on AWS: synthesise a CDK app and run the standard CDK toolkit on it');
  const common = (c: Command) =>
    c
      .option('-f, --file <file>', 'stack file', 'triplane.yaml')
      .option('--env <environment>', 'environment: production, staging, …', 'production')
      .option('--out <dir>', 'where the CloudFormation templates and assets are written', 'cdk.out')
      .option('--settings <file>', 'AWS settings (default: triplane.aws.yaml beside the stack file)');

  common(cloud.command('synth'))
    .description('write the CloudFormation of one store and environment to --out')
    .action(async (o: CloudOptions) => {
      await synthOrReport(o);
    });

  const toolkit = (action: Exclude<ToolkitAction, 'bootstrap'>, description: string) =>
    common(cloud.command(action))
      .description(description)
      .option('--profile <name>', 'AWS profile for the CDK toolkit')
      .option('--print', 'print the toolkit command instead of running it');
  const act = async (action: ToolkitAction, o: CloudOptions) => {
    const r = await synthOrReport(o);
    if (!r) return;
    const { cdkArgv } = await import('../cloud/aws/toolkit.ts');
    const argv = cdkArgv(action, {
      appDir: resolve(o.out),
      stackName: r.stackName,
      ...(o.profile ? { profile: o.profile } : {}),
      ...(o.requireApproval ? { requireApproval: o.requireApproval } : {}),
      ...(o.force ? { force: true } : {}),
      ...(action === 'bootstrap' && r.cloud.plan.account
        ? { environment: `aws://${r.cloud.plan.account}/${r.cloud.plan.region}` }
        : {}),
    });
    if (o.print) {
      process.stdout.write(`${argv.join(' ')}\n`);
      return;
    }
    const code = await run(argv);
    if (code !== 0) process.exitCode = EXIT.failed;
  };
  toolkit('diff', 'show what a deploy would change').action((o: CloudOptions) => act('diff', o));
  toolkit(
    'deploy',
    'deploy the stack with the CDK toolkit (needs AWS credentials and a bootstrapped account)',
  )
    .option('--require-approval <level>', 'never, any-change or broadening', 'broadening')
    .action((o: CloudOptions) => act('deploy', o));
  toolkit('destroy', 'delete the stack (production keeps its data: RETAIN and deletion protection)')
    .option('--force', 'do not ask')
    .action((o: CloudOptions) => act('destroy', o));
  common(cloud.command('bootstrap'))
    .description("prepare the account and region for CDK deployments (the toolkit's assets bucket and roles)")
    .option('--profile <name>', 'AWS profile for the CDK toolkit')
    .option('--print', 'print the toolkit command instead of running it')
    .action((o: CloudOptions) => act('bootstrap', o));
}
