/**
 * Runs a host tool (cp, tar, chown) to completion without blocking the event loop: the sandbox
 * also forwards published ports and answers its owner while a build copies gigabytes.
 */
import { spawn } from 'node:child_process';
import { MayflyError, type MayflyErrorCode } from './errors.js';

export interface ToolOptions {
  /** written to the tool's stdin */
  input?: string;
  /** the error code of a failure (default ROOTFS_FAILED: most tools copy files) */
  code?: MayflyErrorCode;
}

export function runTool(file: string, args: string[], opts: ToolOptions = {}): Promise<void> {
  const code = opts.code ?? 'ROOTFS_FAILED';
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', (e) => reject(new MayflyError(code, `${file} ${args.join(' ')} failed: ${e.message}`, { cause: e })));
    p.once('close', (status) => (status === 0 ? resolve() : reject(new MayflyError(code, `${file} ${args.join(' ')} failed: ${err.trim()}`))));
    if (opts.input !== undefined) p.stdin!.end(opts.input);
  });
}
