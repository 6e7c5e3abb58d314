import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfs } from '../../src/runtime/busybox-rootfs.js';

/** The busybox rootfs plus a marker file the tests look for. */
export function makeBusyboxRootfs(dir: string): string {
  busyboxRootfs(dir);
  writeFileSync(join(dir, 'etc/marker'), 'from the layer\n');
  return dir;
}
