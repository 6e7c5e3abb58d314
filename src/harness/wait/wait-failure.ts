/**
 * The errors a failed wait ends in. Each says what was awaited, for how long, what the last attempt
 * saw and what the container printed last — enough to see why without rerunning with debug output.
 */
import { constants } from 'node:os';
import { MayflyError } from '../../core/errors.js';
import type { LogEntry } from '../../model/container-logs.js';
import { formatDuration } from './poll.js';
import type { WaitTarget } from './types.js';

export const LOG_LINES_SHOWN = 50;
/** a minified JSON line could bury the rest of the message */
const LOG_LINE_MAX = 500;
/** reading the log or the exit status must not hang the report of a failure */
const REPORT_READ_MS = 2000;

export interface Observation {
  saw: string;
  hint?: string | undefined;
}

export interface WaitFacts {
  target: WaitTarget;
  /** the strategy's description */
  waitedFor: string;
  waitedMs: number;
  seen: Observation | undefined;
}

export async function timeoutError(facts: WaitFacts & { timeoutMs: number }): Promise<MayflyError> {
  const { target, waitedFor, timeoutMs, seen } = facts;
  const logs = await recentLogs(target);
  const paused = target.status === 'paused' ? ' (it is paused)' : '';
  return new MayflyError(
    'WAIT_TIMEOUT',
    [`${target.name} was not ready within ${formatDuration(timeoutMs)}${paused}: waited for ${waitedFor}`, lastAttempt(seen), logs.section].join('\n'),
    {
      hint: seen?.hint ?? `if it is only slow, raise timeoutMs (now ${timeoutMs}); its log lines above usually say why it is not ready`,
      details: details(facts, logs.entries),
    },
  );
}

export async function exitedError(facts: WaitFacts): Promise<MayflyError> {
  const { target, waitedFor, waitedMs, seen } = facts;
  const [logs, exit] = await Promise.all([recentLogs(target), exitStatus(target)]);
  const lines = [`${target.name} ${howItEnded(target, exit)} after ${formatDuration(waitedMs)}, while waiting for ${waitedFor}`];
  if (seen) lines.push(lastAttempt(seen));
  lines.push(logs.section);
  return new MayflyError('CONTAINER_EXITED', lines.join('\n'), {
    hint: exit?.oomKilled
      ? 'the kernel killed it for using more memory than its limit: raise limits.memory'
      : 'its command ended before it was ready: its log lines above should say why',
    details: { ...details(facts, logs.entries), exitCode: exit?.exitCode, oomKilled: exit?.oomKilled ?? false },
  });
}

/** A strategy's own verdict (unhealthy), with the container's log added. */
export async function withLogs(e: MayflyError, target: WaitTarget): Promise<MayflyError> {
  const logs = await recentLogs(target);
  const message = e.hint ? e.message.slice(0, e.message.indexOf('\n  hint: ')) : e.message;
  return new MayflyError(e.code, `${message}\n${logs.section}`, {
    ...(e.hint ? { hint: e.hint } : {}),
    cause: e,
    details: { ...e.details, container: target.name, logs: logs.entries },
  });
}

function details(facts: WaitFacts, logs: LogEntry[]): Record<string, unknown> {
  return { container: facts.target.name, waitedFor: facts.waitedFor, waitedMs: facts.waitedMs, lastSeen: facts.seen?.saw, logs };
}

function lastAttempt(seen: Observation | undefined): string {
  if (!seen) return '  no attempt finished';
  const lines = seen.saw.split('\n');
  return lines.length === 1 ? `  last attempt: ${seen.saw}` : `  last attempt:\n${lines.map((l) => `    ${l}`).join('\n')}`;
}

async function recentLogs(target: WaitTarget): Promise<{ entries: LogEntry[]; section: string }> {
  let entries: LogEntry[];
  try {
    entries = await withinOrThrow(target.logs({ tail: LOG_LINES_SHOWN }), 'reading the log took too long');
  } catch (e) {
    return { entries: [], section: `  its log could not be read: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!entries.length) return { entries, section: '  it printed nothing (stdout and stderr are empty)' };
  const title = entries.length < LOG_LINES_SHOWN ? `its output (${entries.length} ${entries.length === 1 ? 'line' : 'lines'}):` : `its last ${entries.length} log lines:`;
  const shown = entries.map((e) => {
    const line = e.line.length > LOG_LINE_MAX ? `${e.line.slice(0, LOG_LINE_MAX)}… (${e.line.length} characters)` : e.line;
    return `    ${e.stream === 'stderr' ? '[stderr] ' : ''}${line}`;
  });
  return { entries, section: `  ${title}\n${shown.join('\n')}` };
}

async function exitStatus(target: WaitTarget): Promise<{ exitCode: number; oomKilled?: boolean } | undefined> {
  if (!target.wait) return undefined;
  try {
    return await withinOrThrow(target.wait(), 'no exit status');
  } catch {
    return undefined; // removed before its exit was seen: say so without a code
  }
}

function howItEnded(target: WaitTarget, exit: { exitCode: number; oomKilled?: boolean } | undefined): string {
  if (!exit) return target.status === 'removed' ? 'was removed' : 'exited';
  if (exit.oomKilled) return `was killed by the OOM killer (exit code ${exit.exitCode})`;
  const signal = exit.exitCode > 128 ? signalName(exit.exitCode - 128) : undefined;
  return signal ? `was killed by ${signal} (exit code ${exit.exitCode})` : `exited with code ${exit.exitCode}`;
}

function signalName(n: number): string | undefined {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
}

async function withinOrThrow<T>(p: Promise<T>, problem: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(problem)), REPORT_READ_MS)))]);
  } finally {
    clearTimeout(timer);
  }
}
