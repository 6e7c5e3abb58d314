/** Finds a host tool on PATH, then in the sbin directories an unprivileged user's PATH often lacks (ip, nsenter). */
import { accessSync, constants } from 'node:fs';

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const p = `${dir}/${cmd}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
