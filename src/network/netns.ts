/**
 * Network namespaces kept alive by a bind mount on a file (no holder process), and `ip` run inside
 * them. Only the sandbox does this: it has CAP_NET_ADMIN over the namespaces its user namespace owns,
 * and its mount namespace is where the bind mounts live (they go with it, however it ends).
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { MayflyError } from '../core/errors.js';
import { runTool } from '../core/host-tool.js';
import { which } from '../core/which.js';
import * as mounts from '../sys/mounts.js';

/** Makes a new network namespace pinned at `file`, and runs `ip` commands in it — one process for both. */
export async function createNetns(file: string, commands: string[] = ['link set lo up']): Promise<void> {
  closeSync(openSync(file, 'w'));
  await runTool('unshare', [`--net=${file}`, '--', ipPath(), '-batch', '-'], { input: `${commands.join('\n')}\n`, code: 'NETWORK_FAILED' });
}

/** Unpins a namespace: it ends (with the veths in it) once no process is left inside. */
export function removeNetns(file: string): void {
  try {
    mounts.umount(file);
  } catch {
    // not mounted (creation failed half way)
  }
  rmSync(file, { force: true });
}

/** Runs `ip` commands (one per line of `ip -batch`) inside the namespace pinned at `file`. */
export async function ipIn(file: string, commands: string[]): Promise<void> {
  await runTool('nsenter', [`--net=${file}`, '--', ipPath(), '-batch', '-'], { input: `${commands.join('\n')}\n`, code: 'NETWORK_FAILED' });
}

function ipPath(): string {
  const ip = which('ip');
  if (!ip) throw new MayflyError('NETWORK_FAILED', 'user-defined networks need the ip command', { hint: 'apt install iproute2' });
  return ip;
}
