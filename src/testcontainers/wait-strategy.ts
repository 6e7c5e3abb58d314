/**
 * Testcontainers' WaitStrategy contract (`waitUntilReady`, a startup timeout per strategy), carried
 * out by mayfly's own readiness probing: each strategy of `Wait` becomes the harness's strategy of
 * the same meaning, which polls from 20 ms up instead of Testcontainers' fixed 100 ms–1 s retries,
 * sees a container exit at once, and says in its error what it last saw. A strategy of your own
 * (a subclass of AbstractWaitStrategy) is called as Testcontainers calls it: `waitUntilReady`
 * with the container (mayfly's handle, not a Dockerode.Container), its bound ports and start time.
 */
import { isMayflyError, MayflyError } from '../core/errors.js';
import { untilAborted, waitUntilReady, type Healthcheck, type WaitStrategy as HarnessWaitStrategy, type WaitTarget } from '../harness/wait/index.js';
import type { BoundPorts } from './bound-ports.js';

export interface WaitStrategy {
  waitUntilReady(container: WaitTarget, boundPorts: BoundPorts, startTime?: Date): Promise<void>;
  withStartupTimeout(startupTimeoutMs: number): WaitStrategy;
  isStartupTimeoutSet(): boolean;
  getStartupTimeout(): number;
}

export abstract class AbstractWaitStrategy implements WaitStrategy {
  protected startupTimeoutMs = 60_000;
  private startupTimeoutSet = false;

  abstract waitUntilReady(container: WaitTarget, boundPorts: BoundPorts, startTime?: Date): Promise<void>;

  withStartupTimeout(startupTimeoutMs: number): this {
    this.startupTimeoutMs = startupTimeoutMs;
    this.startupTimeoutSet = true;
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.startupTimeoutSet;
  }

  getStartupTimeout(): number {
    return this.startupTimeoutMs;
  }
}

/** What a strategy needs to know about the container it waits for. */
export interface ReadinessContext {
  boundPorts: BoundPorts;
  /** from when log lines count (a restart waits for new ones) */
  startTime?: Date | undefined;
  /** the one withHealthCheck() set, in the image config's form (ns); else the image's own */
  healthCheck?: Healthcheck | undefined;
}

/** A strategy of `Wait`: mayfly's strategy of the same meaning, and Testcontainers' sentence for its timeout. */
export abstract class HarnessBackedWaitStrategy extends AbstractWaitStrategy {
  /** @internal */
  abstract harnessStrategy(ctx: ReadinessContext): HarnessWaitStrategy;

  /** @internal Testcontainers' first line when it gives up, e.g. `Port 80 not bound after 60000ms` */
  abstract timeoutSentence(ctx: ReadinessContext, timeoutMs: number): string;

  async waitUntilReady(container: WaitTarget, boundPorts: BoundPorts, startTime?: Date): Promise<void> {
    await runWaitStrategy(container, this, { boundPorts, startTime });
  }
}

/** mayfly's strategy for any Testcontainers strategy: ours directly, yours through its waitUntilReady. */
export function harnessStrategyOf(strategy: WaitStrategy, ctx: ReadinessContext): HarnessWaitStrategy {
  if (strategy instanceof HarnessBackedWaitStrategy) return strategy.harnessStrategy(ctx);
  const name = strategy.constructor?.name || 'a custom wait strategy';
  return {
    describe: () => `${name}.waitUntilReady()`,
    wait: (c) => untilAborted(strategy.waitUntilReady(targetSince(c.target, ctx.startTime), ctx.boundPorts, ctx.startTime), c.signal),
  };
}

/** Rejections of a wait, in Testcontainers' words first (a test may match them), then mayfly's account. */
export function inTestcontainersWords(e: unknown, strategy: WaitStrategy, ctx: ReadinessContext): unknown {
  if (!(strategy instanceof HarnessBackedWaitStrategy)) return e;
  let sentence: string;
  if (isMayflyError(e, 'WAIT_TIMEOUT')) sentence = strategy.timeoutSentence(ctx, strategy.getStartupTimeout());
  else if (isMayflyError(e, 'CONTAINER_UNHEALTHY')) sentence = 'Health check failed: unhealthy';
  else return e;
  const own = e.hint ? e.message.slice(0, e.message.indexOf('\n  hint: ')) : e.message;
  return new MayflyError(e.code, `${sentence}: ${own}`, { details: e.details, cause: e, ...(e.hint ? { hint: e.hint } : {}) });
}

/** Waits for `target` by a Testcontainers strategy, within the strategy's startup timeout. */
export async function runWaitStrategy(target: WaitTarget, strategy: WaitStrategy, ctx: ReadinessContext): Promise<void> {
  const tcp = [...ctx.boundPorts.iterator()].filter(([key]) => key.endsWith('/tcp')).map(([key]) => Number.parseInt(key, 10));
  try {
    await waitUntilReady(targetSince(target, ctx.startTime), harnessStrategyOf(strategy, ctx), { timeoutMs: strategy.getStartupTimeout(), healthcheck: ctx.healthCheck, exposedPorts: tcp });
  } catch (e) {
    throw inTestcontainersWords(e, strategy, ctx);
  }
}

/** The target whose log starts at `since` (the lines of an earlier run do not count after a restart). */
export function targetSince(target: WaitTarget, since: Date | undefined): WaitTarget {
  if (!since) return target;
  return new Proxy(target, {
    get(t, key) {
      if (key === 'logs') return (opts: Parameters<WaitTarget['logs']>[0] = {}) => t.logs({ since, ...opts });
      const v = Reflect.get(t, key, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}
