/**
 * The polling every simple strategy shares: attempt, note what it saw, pause, again. Pauses start
 * short (a service that is up at once costs ~20 ms, not a fixed sleep) and grow to a cap (a slow
 * one is not hammered); every attempt and every pause ends the moment the wait is aborted, so
 * nothing overruns the deadline.
 */
import type { WaitContext } from './types.js';
import { watchOutput, type OutputWatch } from './output-watch.js';

export const FIRST_PAUSE_MS = 20;
export const MAX_PAUSE_MS = 250;
export const PAUSE_GROWTH = 1.5;
/** an attempt cut off by the deadline is worth mentioning only when it was slow */
const SLOW_ATTEMPT_MS = 1000;

export type Attempt = { ready: true } | { ready: false; saw: string; hint?: string | undefined };

export const READY: Attempt = { ready: true };

export function notYet(saw: string, hint?: string): Attempt {
  return { ready: false, saw, hint };
}

/**
 * How attempts are spaced: a cheap attempt (a query from the host, ~1 ms) may start shorter and
 * grow slower; `maxMs` caps the pause (default 250 ms). `onOutput`: a pause ends early when the
 * container writes a line (a server's "ready" line is then followed by an attempt within a
 * millisecond, not up to a pause later); an attempt still decides.
 */
export interface PollPauses {
  firstMs: number;
  growth: number;
  maxMs?: number;
  onOutput?: boolean;
}

export async function pollUntilReady(ctx: WaitContext, attempt: (signal: AbortSignal) => Promise<Attempt>, pauses: PollPauses = { firstMs: FIRST_PAUSE_MS, growth: PAUSE_GROWTH }): Promise<void> {
  const output = pauses.onOutput ? watchOutput(ctx.target) : undefined;
  try {
    await poll(ctx, attempt, pauses, output);
  } finally {
    output?.close();
  }
}

async function poll(ctx: WaitContext, attempt: (signal: AbortSignal) => Promise<Attempt>, pauses: PollPauses, output: OutputWatch | undefined): Promise<void> {
  let last: Attempt | undefined;
  const maxPause = pauses.maxMs ?? MAX_PAUSE_MS;
  for (let pause = Math.min(pauses.firstMs, maxPause); ; pause = Math.min(pause * pauses.growth, maxPause)) {
    const started = Date.now();
    try {
      last = await untilAborted(attempt(ctx.signal), ctx.signal);
    } catch (e) {
      const ms = Date.now() - started;
      if (ctx.signal.aborted && ms >= SLOW_ATTEMPT_MS) {
        const before = last && !last.ready ? `${last.saw}; then ` : '';
        ctx.saw(`${before}an attempt was still running after ${formatDuration(ms)}`, last && !last.ready ? last.hint : undefined);
      }
      throw e;
    }
    if (last.ready) return;
    ctx.saw(last.saw, last.hint);
    if (output) await pauseOrOutput(pause, ctx.signal, output);
    else await pauseFor(pause, ctx.signal);
  }
}

/** The pause, cut short by the container's next line; rejects like `pauseFor` when aborted. */
async function pauseOrOutput(ms: number, signal: AbortSignal, output: OutputWatch): Promise<void> {
  const ended = new AbortController();
  const either = AbortSignal.any([signal, ended.signal]);
  try {
    await Promise.race([pauseFor(ms, either), output.next(either)]);
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    throw e;
  } finally {
    ended.abort();
  }
  signal.throwIfAborted();
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts (the promise is left to settle unobserved). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function pauseFor(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The result of `run`, or `timedOut()` when it takes longer than `ms`: one hung exec or request
 * then costs one attempt, not the whole wait.
 */
export async function attemptWithin<T>(ms: number, run: Promise<T>, timedOut: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(timedOut()), ms);
  });
  run.catch(() => {}); // it may lose the race and fail later, unobserved
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A signal that aborts with `parent`, or after `ms` with a reason `isAttemptTimeout` recognises; `done()` releases it. */
export function attemptSignal(parent: AbortSignal, ms: number): { signal: AbortSignal; done: () => void } {
  const c = new AbortController();
  const onAbort = () => c.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => c.abort(ATTEMPT_TIMEOUT), ms);
  return {
    signal: c.signal,
    done: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}

const ATTEMPT_TIMEOUT = Symbol('attempt timeout');

export function isAttemptTimeout(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason === ATTEMPT_TIMEOUT;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The first non-empty line of a command's output or an error message, shortened for one-line reports. */
export function firstLine(text: string, max = 200): string {
  const line = text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
