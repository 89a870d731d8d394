import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Hash of a directory tree (paths, modes, contents, symlink targets), independent of timestamps. */
export function hashTree(root: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    const abs = join(root, rel);
    const entries = readdirSync(abs).sort();
    for (const name of entries) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      h.update(`${r}\0${st.mode & 0o777}\0`);
      if (st.isDirectory()) walk(r);
      else if (st.isSymbolicLink()) h.update(`->${readlinkSync(join(root, r))}\0`);
      else h.update(readFileSync(join(root, r))).update('\0');
    }
  };
  walk('');
  return h.digest('hex');
}
