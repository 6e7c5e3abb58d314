/**
 * Network namespaces kept alive by a bind mount on a file (no holder process), and `ip` run inside
 * them. Only the sandbox does this: it has CAP_NET_ADMIN over the namespaces its user namespace owns,
 * and its mount namespace is where the bind mounts live (they go with it, however it ends).
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { MayflyError } from '../errors.js';
import { runTool } from '../host-tool.js';
import { which } from '../which.js';
import * as sys from '../runtime/syscalls.js';

/** Makes a new network namespace with loopback up, pinned at `file`. */
export async function createNetns(file: string): Promise<void> {
  closeSync(openSync(file, 'w'));
  await runTool('unshare', [`--net=${file}`, 'true'], { code: 'NETWORK_FAILED' });
  await ipIn(file, ['link set lo up']);
}

/** Unpins a namespace: it ends (with the veths in it) once no process is left inside. */
export function removeNetns(file: string): void {
  try {
    sys.umount(file);
  } catch {
    // not mounted (creation failed half way)
  }
  rmSync(file, { force: true });
}

/** Runs `ip` commands (one per line of `ip -batch`) inside the namespace pinned at `file`. */
export function ipIn(file: string, commands: string[]): Promise<void> {
  const ip = which('ip');
  if (!ip) return Promise.reject(new MayflyError('NETWORK_FAILED', 'user-defined networks need the ip command', { hint: 'apt install iproute2' }));
  return runTool('nsenter', [`--net=${file}`, '--', ip, '-batch', '-'], { input: `${commands.join('\n')}\n`, code: 'NETWORK_FAILED' });
}
