import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { parse } from 'yaml';
import { CloudError } from './errors.ts';
import { type CloudPlan, planCloud, SETTINGS_FILE } from './plan.ts';
import { StoreStack } from './store-stack.ts';

/** The project's root: the release the hosts install is made from it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What `triplane cloud synth` needs. */
export interface SynthOptions {
  /** The store's `triplane.yaml`. */
  readonly stackFile: string;
  /**
   * The AWS settings.
   * @default - `triplane.aws.yaml` beside the stack file when it exists, else every default
   */
  readonly settingsFile?: string;
  /** Environment name, such as `production` or `staging`. */
  readonly environment: string;
  /** Where the cloud assembly (CloudFormation templates and assets) is written. */
  readonly outDir: string;
  /**
   * The directory the hosts' Triplane release is made from.
   * @default PROJECT_ROOT
   */
  readonly releaseDir?: string;
}

/** What a synthesis produced. */
export interface SynthResult {
  readonly stackName: string;
  readonly outDir: string;
  readonly templateFile: string;
  readonly cloud: CloudPlan;
  /** Things worth telling the user that are not errors (local-only domains, code not shipped). */
  readonly notes: readonly string[];
}

function readYaml(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CloudError('TP_CLOUD_SETTINGS_FILE', `${what} ${file}: cannot read: ${(e as Error).message}`);
  }
  try {
    return parse(text) ?? {};
  } catch (e) {
    throw new CloudError(
      'TP_CLOUD_SETTINGS_FILE',
      `${what} ${file}: not YAML: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

/** The settings file used for `stackFile`: the one given, else `triplane.aws.yaml` beside it if present. */
export function settingsFileFor(stackFile: string, settingsFile?: string): string | undefined {
  if (settingsFile) return resolve(settingsFile);
  const beside = join(dirname(resolve(stackFile)), SETTINGS_FILE);
  return existsSync(beside) ? beside : undefined;
}

/** Reads both files and plans the environment; throws TP_CLOUD_INVALID with every problem at once. */
export function loadCloudPlan(stackFile: string, environment: string, settingsFile?: string): CloudPlan {
  const settingsPath = settingsFileFor(stackFile, settingsFile);
  const stackInput = readYaml(resolve(stackFile), 'stack file');
  const settingsInput = settingsPath ? readYaml(settingsPath, 'settings file') : {};
  return planCloud(stackInput, settingsInput, environment);
}

/** Builds the CDK app for one store and environment and writes its cloud assembly to `outDir`. */
export function synthesize(options: SynthOptions): SynthResult {
  const cloud = loadCloudPlan(options.stackFile, options.environment, options.settingsFile);
  const notes: string[] = [];
  for (const d of cloud.plan.localDomains) notes.push(`${d} is a local name: it is not served on AWS`);
  if (cloud.plan.domains.length === 0) {
    notes.push("no public domain: the store answers only on the distribution's *.cloudfront.net name");
  }
  const codeDir = resolve(dirname(resolve(options.stackFile)), cloud.spec.app.code);
  const shipCode = existsSync(codeDir) && statSync(codeDir).isDirectory();
  if (!shipCode)
    notes.push(`${codeDir} does not exist: no store code is shipped, the app image must hold it`);

  const outDir = resolve(options.outDir);
  const app = new App({ outdir: outDir });
  const stack = new StoreStack(app, cloud.plan.stackName, {
    cloud,
    releaseDir: options.releaseDir ?? PROJECT_ROOT,
    ...(shipCode ? { codeDir } : {}),
  });
  let templateFile: string;
  try {
    const assembly = app.synth();
    templateFile = assembly.getStackArtifact(stack.artifactId).templateFullPath;
  } catch (e) {
    throw new CloudError(
      'TP_CLOUD_SYNTH_FAILED',
      `synthesis of ${cloud.plan.stackName} failed: ${(e as Error).message}`,
      [],
      e,
    );
  }
  return { stackName: cloud.plan.stackName, outDir, templateFile, cloud, notes };
}
