/**
 * Runs a host tool (cp, tar, chown) to completion without blocking the event loop: the sandbox
 * also forwards published ports and answers its owner while a build copies gigabytes.
 */
import { spawn } from 'node:child_process';
import { MayflyError } from './errors.js';

export function runTool(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', (e) => reject(new MayflyError('ROOTFS_FAILED', `${file} ${args.join(' ')} failed: ${e.message}`, { cause: e })));
    p.once('close', (code) => (code === 0 ? resolve() : reject(new MayflyError('ROOTFS_FAILED', `${file} ${args.join(' ')} failed: ${err.trim()}`))));
  });
}
