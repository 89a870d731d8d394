import { AgentError, CommandError } from '../errors.ts';

/** How many lines of a failed command's output the error message keeps. */
const TAIL_LINES = 15;

/** The last lines a failed step printed; podman build reports RUN output on stdout, its own errors on stderr. */
function outputTail(cause: unknown): string {
  if (cause instanceof CommandError) {
    const lines = `${cause.stdout}\n${cause.stderr}`.split('\n').filter((line) => line.trim() !== '');
    return lines.slice(-TAIL_LINES).join('\n');
  }
  return cause instanceof Error ? cause.message : String(cause);
}

/** An image could not be built; the message names it and ends with the tail of the build output. */
export class ImageBuildError extends AgentError {
  constructor(image: string, ref: string, cause: unknown) {
    super('TP_IMAGE_BUILD_FAILED', `image ${image} (${ref}) failed to build:\n${outputTail(cause)}`, {
      image,
      ref,
    });
    this.name = 'ImageBuildError';
    this.cause = cause;
  }
}
