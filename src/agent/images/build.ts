import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../errors.ts';
import type { Executor } from '../executor.ts';
import {
  HASH_TAG_LENGTH,
  hashTaggedRef,
  IMAGES,
  IMAGES_DIR,
  type ImageName,
  type ImageSpec,
  imageHashes,
  imageRepository,
} from './catalogue.ts';
import {
  DEFAULT_APT_SOURCES,
  mmdebstrapArgv,
  podmanBuildArgv,
  podmanImageExistsArgv,
  podmanImportArgv,
  podmanTagArgv,
} from './commands.ts';
import { ImageBuildError } from './errors.ts';

/** One step of `buildImages`, for progress output. */
export interface BuildProgress {
  readonly image: ImageName;
  readonly phase: 'skip' | 'start' | 'done' | 'fail';
  /** Time spent on this image so far (0 for `start`). */
  readonly seconds: number;
}

/** Options of `buildImages`. */
export interface BuildImagesOptions {
  readonly executor: Executor;
  /**
   * Names of the images wanted (checked: an unknown name fails with TP_IMAGE_UNKNOWN). Their
   * ancestors are included: a child is built FROM its parent's hash tag, which has to exist.
   * @default every image
   */
  readonly only?: readonly string[];
  /** Rebuild the images named in `only` (or all) even if their hash tag exists. @default false */
  readonly force?: boolean;
  readonly onProgress?: (progress: BuildProgress) => void;
  /** @default the repository's images/ folder */
  readonly imagesDir?: string;
  /** @default DEFAULT_APT_SOURCES */
  readonly aptSources?: string;
}

/** What `buildImages` did for one image. */
export interface BuiltImage {
  readonly image: ImageName;
  /** The hash-tagged reference, e.g. `localhost/triplane/redis:0123456789ab`. */
  readonly ref: string;
  readonly built: boolean;
  readonly seconds: number;
}

const MINUTE = 60_000;

/** The images to consider, in catalogue order: the wanted ones and everything they build on. */
function selectImages(only: readonly string[] | undefined): ImageSpec[] {
  if (!only) return [...IMAGES];
  const unknown = only.filter((name) => !IMAGES.some((spec) => spec.name === name));
  if (unknown.length > 0) {
    const known = IMAGES.map((spec) => spec.name).join(', ');
    throw new AgentError('TP_IMAGE_UNKNOWN', `unknown image ${unknown.join(', ')} (known: ${known})`, {
      unknown,
    });
  }
  const wanted = new Set<string>();
  for (const name of only) {
    let spec = IMAGES.find((s) => s.name === name);
    while (spec && !wanted.has(spec.name)) {
      wanted.add(spec.name);
      spec = IMAGES.find((s) => s.name === spec?.parent);
    }
  }
  return IMAGES.filter((spec) => wanted.has(spec.name));
}

/** mmdebstrap into a temporary directory, then import the tarball under the hash tag. */
async function buildBase(executor: Executor, ref: string, hash: string, aptSources: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'triplane-base-'));
  try {
    const tarball = join(dir, 'base.tar');
    await executor.run({ argv: mmdebstrapArgv({ output: tarball, aptSources }), timeoutMs: 20 * MINUTE });
    await executor.run({ argv: podmanImportArgv(tarball, ref, hash), timeoutMs: 5 * MINUTE });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Builds the images whose hash tag does not exist yet, one after the other (parallel builds
 * were slower on two cores), and points each image's `latest` tag at its current hash.
 * Throws ImageBuildError (TP_IMAGE_BUILD_FAILED) at the first failure.
 */
export async function buildImages(opts: BuildImagesOptions): Promise<BuiltImage[]> {
  const { executor, onProgress = () => {} } = opts;
  const imagesDir = opts.imagesDir ?? IMAGES_DIR;
  const hashes = imageHashes(imagesDir);
  const forced = new Set<string>(opts.force ? (opts.only ?? IMAGES.map((spec) => spec.name)) : []);
  const refOf = (name: ImageName) => hashTaggedRef(name, hashes.get(name)!);
  const results: BuiltImage[] = [];

  for (const spec of selectImages(opts.only)) {
    const { name, parent } = spec;
    const ref = refOf(name);
    const hash = hashes.get(name)!;
    const started = Date.now();
    const seconds = () => Math.round((Date.now() - started) / 100) / 10;
    try {
      const exists = await executor.run({
        argv: podmanImageExistsArgv(ref),
        okExitCodes: [0, 1],
        timeoutMs: MINUTE,
      });
      if (exists.exitCode === 0 && !forced.has(name)) {
        // Another checkout may have moved `latest`; the stores run `latest`, so it follows this tree.
        await executor.run({
          argv: podmanTagArgv(ref, `${imageRepository(name)}:latest`),
          timeoutMs: MINUTE,
        });
        onProgress({ image: name, phase: 'skip', seconds: seconds() });
        results.push({ image: name, ref, built: false, seconds: seconds() });
        continue;
      }
      onProgress({ image: name, phase: 'start', seconds: 0 });
      if (parent) {
        const argv = podmanBuildArgv({
          dir: `${imagesDir}/${name}`,
          repository: imageRepository(name),
          hash,
          hashTag: hash.slice(0, HASH_TAG_LENGTH),
          parentRef: refOf(parent),
        });
        await executor.run({ argv, timeoutMs: 30 * MINUTE });
      } else {
        await buildBase(executor, ref, hash, opts.aptSources ?? DEFAULT_APT_SOURCES);
        await executor.run({
          argv: podmanTagArgv(ref, `${imageRepository(name)}:latest`),
          timeoutMs: MINUTE,
        });
      }
    } catch (err) {
      onProgress({ image: name, phase: 'fail', seconds: seconds() });
      throw new ImageBuildError(name, ref, err);
    }
    onProgress({ image: name, phase: 'done', seconds: seconds() });
    results.push({ image: name, ref, built: true, seconds: seconds() });
  }
  return results;
}
