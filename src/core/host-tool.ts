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
  /** ends the tool (SIGTERM); the promise settles once it has exited, so nothing writes after */
  signal?: AbortSignal;
}

export function runTool(file: string, args: string[], opts: ToolOptions = {}): Promise<void> {
  const code = opts.code ?? 'ROOTFS_FAILED';
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'], ...(opts.signal ? { signal: opts.signal } : {}) });
    let err = '';
    let failure: Error | undefined;
    const fail = (why: string, cause?: Error) => reject(new MayflyError(code, `${file} ${args.join(' ')} failed: ${why}`, { cause }));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    // an abort reports before the tool has exited: wait for its exit (a tool that never started has none)
    p.once('error', (e) => (p.pid === undefined ? fail(e.message, e) : (failure = e)));
    p.once('close', (status) => (failure ? fail(failure.message, failure) : status === 0 ? resolve() : fail(err.trim())));
    if (opts.input !== undefined) p.stdin!.end(opts.input);
  });
}
