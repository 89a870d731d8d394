import { fileURLToPath } from 'node:url';
import { mmdebstrapArgv } from './commands.ts';
import { hashImageDir } from './hash.ts';

/** The images Triplane builds, one folder each under `images/`. */
export type ImageName = 'base' | 'php-fpm' | 'cron' | 'nginx' | 'varnish' | 'redis' | 'mariadb' | 'rabbitmq';

/** One image and the image its Containerfile builds on (`null`: made by mmdebstrap). */
export interface ImageSpec {
  readonly name: ImageName;
  readonly parent: ImageName | null;
}

/** Every image, parents before children: building in this order never waits on a later entry. */
export const IMAGES: readonly ImageSpec[] = Object.freeze([
  { name: 'base', parent: null },
  { name: 'php-fpm', parent: 'base' },
  { name: 'cron', parent: 'php-fpm' },
  { name: 'nginx', parent: 'base' },
  { name: 'varnish', parent: 'base' },
  { name: 'redis', parent: 'base' },
  { name: 'mariadb', parent: 'base' },
  { name: 'rabbitmq', parent: 'base' },
]);

/** The repository's `images/` folder, found from this module so it works from any cwd. */
export const IMAGES_DIR = fileURLToPath(new URL('../../../images/', import.meta.url));

/** Length of the hash prefix used as the image tag. */
export const HASH_TAG_LENGTH = 12;

/** The repository part of an image reference, e.g. `localhost/triplane/nginx`. */
export function imageRepository(name: ImageName): string {
  return `localhost/triplane/${name}`;
}

/**
 * The base has no Containerfile: what it contains is decided by the mmdebstrap command, so that
 * command (with placeholders for the host-specific paths) is hashed along with its folder.
 */
const BASE_RECIPE = JSON.stringify(mmdebstrapArgv({ output: '<output>', aptSources: '<sources>' }));

/** Content hash of every image, each covering its folder and its parent's hash. */
export function imageHashes(imagesDir: string = IMAGES_DIR): ReadonlyMap<ImageName, string> {
  const hashes = new Map<ImageName, string>();
  for (const spec of IMAGES) {
    const parentHash = spec.parent ? hashes.get(spec.parent)! : null;
    const recipe = spec.parent ? '' : BASE_RECIPE;
    hashes.set(spec.name, hashImageDir(`${imagesDir}/${spec.name}`, parentHash, recipe));
  }
  return hashes;
}

/** The reference tagged with (a prefix of) a content hash, e.g. `localhost/triplane/nginx:3f2a9c0b1d4e`. */
export function hashTaggedRef(name: ImageName, hash: string): string {
  return `${imageRepository(name)}:${hash.slice(0, HASH_TAG_LENGTH)}`;
}

/** The hash-tagged reference of an image as its folder is now. */
export function imageRef(name: ImageName, imagesDir: string = IMAGES_DIR): string {
  return hashTaggedRef(name, imageHashes(imagesDir).get(name)!);
}
