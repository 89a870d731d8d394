import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { planCloud } from './plan.ts';
import { StoreStack } from './store-stack.ts';

/** A store that uses every part: public domains, admin group, search, Multi-AZ in production. */
export const FULL_STACK = {
  name: 'shop',
  domains: ['shop.example.com', 'www.shop.example.com'],
  app: { replicas: { min: 2, max: 6 }, autoscale: { cpuPercent: 65 } },
  admin: { enabled: true, replicas: 1 },
  services: {
    search: { enabled: true, image: 'localhost/opensearch:2' },
    redis: { partitions: { cache: { maxmemory: '1gb' } } },
  },
} as const;

/** Settings of the full store: the zone is named, everything else defaults. */
export const FULL_SETTINGS = {
  dns: { zoneName: 'shop.example.com' },
  alarmEmail: 'ops@example.com',
} as const;

/** A release directory with one file: assets are copied at synth, the project's source is not needed. */
export function tinyRelease(): string {
  const dir = mkdtempSync(join(tmpdir(), 'triplane-release-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'triplane'), '#!/bin/sh\n');
  return dir;
}

/** Synthesises one store stack (the expensive part of a test file: do it once and share the result). */
export function synthStore(
  stack: unknown,
  settings: unknown,
  environment: string,
): { app: App; stack: StoreStack; template: Template } {
  const cloud = planCloud(stack, settings, environment);
  const outdir = mkdtempSync(join(tmpdir(), 'triplane-cdk-'));
  const releaseDir = tinyRelease();
  const app = new App({ outdir });
  const store = new StoreStack(app, 'Store', { cloud, releaseDir });
  const template = Template.fromStack(store);
  // The template is in memory from here on; the assembly on disk is not read again.
  rmSync(outdir, { recursive: true, force: true });
  rmSync(releaseDir, { recursive: true, force: true });
  return { app, stack: store, template };
}

/** Boot-script properties of a production app host of store `shop`. */
export const USERDATA_PROPS = {
  store: 'shop',
  environment: 'production',
  region: 'us-east-1',
  nodeVersion: '20.20.2',
  release: { bucket: 'assets-bucket', key: 'release.zip' },
} as const;
