/**
 * Counts for bench/results/reliability.md: every escape attempt blocked, kill survived, fault
 * injected, input tried and leftover found. Appended as JSON lines to $MAYFLY_RELIABILITY_LOG when
 * `npm run reliability` sets it (workers of one run share the file); nothing otherwise.
 */
import { appendFileSync } from 'node:fs';

export type Tally = 'blocked' | 'skipped' | 'kill' | 'fault' | 'inputs' | 'leftover' | 'figure';

export function record(kind: Tally, what: string, value = 1, extra: Record<string, unknown> = {}): void {
  const file = process.env.MAYFLY_RELIABILITY_LOG;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ kind, what, value, uid: process.getuid?.(), ...extra })}\n`);
}

/** One escape attempt that failed as it must (or was skipped, with the reason). */
export function countAttempt(kind: 'blocked' | 'skipped', what: string): void {
  record(kind, what);
}
