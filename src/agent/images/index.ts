/** Building Triplane's container images from Debian packages. */
export { type BuildImagesOptions, type BuildProgress, type BuiltImage, buildImages } from './build.ts';
export { IMAGES, IMAGES_DIR, type ImageName, type ImageSpec, imageHashes, imageRef } from './catalogue.ts';
export { ImageBuildError } from './errors.ts';
