/**
 * fuse-overlayfs, for kernels that refuse overlayfs inside a user namespace. It runs as a process
 * of the sandbox (in the sandbox's mount namespace, so the container's mount namespace, made after
 * it, inherits the mount) and is unmounted and stopped when the container exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MayflyError } from '../../core/errors.js';
import * as mounts from '../../sys/mounts.js';

const MOUNT_TIMEOUT_MS = 5000;

export interface FuseMount {
  target: string;
  unmount(): Promise<void>;
}

function mounted(target: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === target && l.includes(' - fuse.fuse-overlayfs '));
}

export async function mountFuseOverlay(lowerDirs: string[], upperDir: string, workDir: string, target: string): Promise<FuseMount> {
  const lower = [...lowerDirs].reverse().join(':');
  const proc: ChildProcess = spawn('fuse-overlayfs', ['-f', '-o', `lowerdir=${lower},upperdir=${upperDir},workdir=${workDir}`, target], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', (e) => reject(e));
    void exited.then(() => reject(new Error(`fuse-overlayfs exited: ${stderr.trim()}`)));
  });
  const deadline = Date.now() + MOUNT_TIMEOUT_MS;
  try {
    while (!mounted(target)) {
      if (Date.now() > deadline) throw new Error(`fuse-overlayfs did not mount ${target} within ${MOUNT_TIMEOUT_MS / 1000} s`);
      await Promise.race([failed, new Promise((r) => setTimeout(r, 2))]);
    }
  } catch (e) {
    proc.kill('SIGKILL');
    throw new MayflyError('ROOTFS_FAILED', `fuse-overlayfs failed: ${(e as Error).message}`, { hint: 'run `mayfly doctor`: /dev/fuse must be readable and writable by you' });
  }
  failed.catch(() => {}); // it ends when unmounted
  return {
    target,
    async unmount() {
      try {
        mounts.umount(target, true);
      } catch {
        // already gone with its process
      }
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
