/**
 * Waits for a started container to be ready by a strategy, within a deadline. Three things end a
 * wait early, each through one abort signal every attempt and pause listens to: the deadline, the
 * container's exit (a dead container never becomes ready, so its exit is reported at once rather
 * than after the timeout), and the caller's own signal.
 */
import { isMayflyError, MayflyError } from '../../core/errors.js';
import { OneShotWaitStrategy } from './one-shot.js';
import { NoWaitStrategy } from './none.js';
import type { Healthcheck, WaitContext, WaitStrategy, WaitTarget } from './types.js';
import { checkPositiveMs, invalidArgument } from './validate.js';
import { exitedError, timeoutError, withLogs, type Observation } from './wait-failure.js';

export const DEFAULT_TIMEOUT_MS = 60_000;
/** how soon an exit is noticed while an attempt (a request, an exec) is still out */
const EXIT_CHECK_MS = 50;
/** setTimeout fires at once beyond this */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

export interface WaitOptions {
  /** default 60 s */
  timeoutMs?: number;
  /** cancels the wait; it then rejects with the signal's reason */
  signal?: AbortSignal;
  /** the image's HEALTHCHECK, for Wait.forHealthcheck() */
  healthcheck?: Healthcheck | undefined;
  /** the container's published and exposed ports, for Wait.forListeningPorts() without arguments */
  exposedPorts?: readonly number[];
}

const TIMED_OUT = Symbol('wait timed out');
const EXITED = Symbol('container exited');
const FINISHED = Symbol('wait finished');

/**
 * Resolves once `target` is ready by `strategy`. Rejects with a MayflyError: `WAIT_TIMEOUT` when
 * the deadline passes, `CONTAINER_EXITED` when the container exits first (at once, not at the
 * deadline), `CONTAINER_UNHEALTHY` when its healthcheck fails as Docker would call it unhealthy,
 * `INVALID_OPTION` when the strategy cannot apply (no healthcheck, no port to wait for); each with
 * the container's last log lines.
 */
export async function waitUntilReady(target: WaitTarget, strategy: WaitStrategy, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = Math.min(checkPositiveMs('waitUntilReady', 'options.timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS), LONGEST_TIMER_MS);
  if (typeof strategy?.wait !== 'function' || typeof strategy.describe !== 'function') {
    throw invalidArgument('waitUntilReady', 'strategy', 'is not a wait strategy (made by Wait.for…)');
  }
  // nothing to wait for, not even for it to stay alive
  if (strategy instanceof NoWaitStrategy) return;
  options.signal?.throwIfAborted();
  if (target.status === 'created') {
    throw new MayflyError('CONTAINER_STATE', `${target.name} has not been started: there is nothing to wait for yet`, { hint: 'start it first' });
  }

  const since = Date.now();
  const stop = new AbortController();
  let seen: Observation | undefined;
  const ctx: WaitContext = {
    target,
    healthcheck: options.healthcheck,
    exposedPorts: options.exposedPorts ?? [],
    signal: stop.signal,
    since,
    saw: (saw, hint) => {
      seen = { saw, hint };
    },
  };
  // described now, while its ports are still published (an exit unpublishes them)
  const waitedFor = strategy.describe(ctx);
  const deadline = setTimeout(() => stop.abort(TIMED_OUT), timeoutMs);
  const exitWatch = setInterval(() => {
    if (hasExited(target)) stop.abort(EXITED);
  }, EXIT_CHECK_MS);
  const cancel = () => stop.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', cancel, { once: true });

  let failure: { error: unknown } | undefined;
  const oneShot = strategy instanceof OneShotWaitStrategy;
  try {
    if (oneShot) await untilExited(target, stop.signal);
    else if (!hasExited(target)) await strategy.wait(ctx);
  } catch (error) {
    failure = { error };
  } finally {
    clearTimeout(deadline);
    clearInterval(exitWatch);
    options.signal?.removeEventListener('abort', cancel);
  }
  const why: unknown = stop.signal.aborted ? stop.signal.reason : undefined;
  stop.abort(FINISHED); // strategies' leftover attempts stop too

  if (options.signal?.aborted && why === options.signal.reason) throw options.signal.reason;
  const facts = { target, waitedFor, waitedMs: Date.now() - since, seen };
  if (oneShot && !failure && hasExited(target) && (await target.wait?.())?.exitCode === 0) return;
  // an exit explains whatever else failed (closed ports, refused execs), and undoes a success
  if (hasExited(target)) throw await exitedError(facts);
  if (!failure) return;
  if (why === TIMED_OUT) throw await timeoutError({ ...facts, timeoutMs });
  if (isMayflyError(failure.error, 'CONTAINER_UNHEALTHY')) throw await withLogs(failure.error, target);
  throw failure.error;
}

/** Resolves when the container has exited; rejects (with the reason) when `signal` aborts first. */
function untilExited(target: WaitTarget, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = setInterval(() => {
      if (hasExited(target)) done(resolve);
    }, EXIT_CHECK_MS);
    const onAbort = () => done(() => (hasExited(target) ? resolve() : reject(signal.reason)));
    const done = (then: () => void) => {
      clearInterval(check);
      signal.removeEventListener('abort', onAbort);
      then();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function hasExited(target: WaitTarget): boolean {
  return target.status === 'exited' || target.status === 'removed';
}
