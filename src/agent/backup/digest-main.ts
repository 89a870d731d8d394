// The digest process (see digestCommand in digest.ts):
//   digest-main.ts dump FILE DATABASE   per-table rows and checksums of a dump file
//   digest-main.ts media ROOT           the media manifest of a tree
// prints the digest as JSON on standard output; a failure is a message on standard error and exit 1.
import { digestDumpFile } from './dump.ts';
import { mediaManifest } from './media.ts';

const [kind, ...args] = process.argv.slice(2);
try {
  let result: unknown;
  if (kind === 'dump' && args.length === 2) result = await digestDumpFile(args[0]!, args[1]!);
  else if (kind === 'media' && args.length === 1) result = await mediaManifest(args[0]!);
  else
    throw new Error(
      `usage: digest-main.ts dump FILE DATABASE | media ROOT (got ${JSON.stringify(process.argv.slice(2))})`,
    );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (e) {
  process.stderr.write(`digest: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
