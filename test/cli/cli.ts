/** Running the real `mayfly` binary from the CLI tests, as a user's shell runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '../../bin/mayfly.js');

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `mayfly ARGS…` to its end, asynchronously (a registry or a server in the test process keeps
 * serving meanwhile). `env` adds to the test's environment (e.g. another MAYFLY_HOME).
 */
export function mayfly(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.input !== undefined) p.stdin!.end(opts.input);
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`mayfly ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** `mayfly ARGS…` that must succeed; its stdout. */
export async function ok(args: string[], opts: Parameters<typeof mayfly>[1] = {}): Promise<string> {
  const r = await mayfly(args, opts);
  if (r.status !== 0) throw new Error(`mayfly ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A `mayfly` process left running (a foreground run), with its output so far. */
export function started(args: string[], env: NodeJS.ProcessEnv = {}): { proc: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  return { proc, out: () => out, exited };
}

/** Whether a process is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
