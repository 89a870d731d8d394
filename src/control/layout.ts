import { join } from 'node:path';

// Apart from the control plane's code, so a CLI command that only needs the paths loads none of it.
/** Files of the control plane under `<dataDir>/control`. */
export function controlLayout(dataDir: string) {
  const dir = join(dataDir, 'control');
  return {
    dir,
    /** The first platform admin's API token (`init`), mode 0600. */
    adminToken: join(dir, 'admin-token'),
    /** The token edges present; kept across restarts so running edges stay authorised. */
    edgeToken: join(dir, 'edge-token'),
    pid: join(dir, 'control.pid'),
  };
}
