import { afterAll, beforeAll } from 'vitest';
import { isMayflyError, type MayflyError } from '../../src/core/errors.js';
import { Runtime, type Container } from '../../src/engine/runtime.js';

export const BUSYBOX = process.env.MAYFLY_TEST_BUSYBOX!;
export const isRoot = process.getuid?.() === 0;

/** One runtime (one sandbox) per test file; every warning it gives is collected. */
export function useRuntime(): { runtime: () => Runtime; warnings: string[] } {
  let rt: Runtime | undefined;
  const warnings: string[] = [];
  beforeAll(async () => {
    rt = await Runtime.start({ onWarning: (m) => warnings.push(m) });
  });
  afterAll(async () => {
    await rt?.close();
  });
  return { runtime: () => rt!, warnings };
}

/** Starts a created container, collects its output until it exits, and removes it. */
export async function runToEnd(c: Container): Promise<{ exitCode: number; out: string }> {
  const chunks: string[] = [];
  try {
    await c.start({ onOutput: (_s, d) => chunks.push(Buffer.from(d).toString()) });
    const { exitCode } = await c.wait();
    return { exitCode, out: chunks.join('') };
  } finally {
    await c.remove({ force: true });
  }
}

/** Runs a busybox shell script to completion and returns its output and exit code. */
export async function sh(rt: Runtime, script: string, extra: Record<string, unknown> = {}): Promise<{ exitCode: number; out: string }> {
  return runToEnd(await rt.create({ layers: [BUSYBOX], command: ['sh', '-c', script], ...extra }));
}

/** The MayflyError a promise rejects with (anything else fails the test). */
export async function caught(promise: Promise<unknown>): Promise<MayflyError> {
  try {
    await promise;
  } catch (e) {
    if (isMayflyError(e)) return e;
    throw e;
  }
  throw new Error('expected a MayflyError, got success');
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
