/**
 * Strategies combined: all of them (each must have held once; they wait side by side, so the
 * slowest decides, not the sum) or any one of them. The last observation lists, per strategy,
 * whether it is ready and what it last saw, so a timeout says which part was missing.
 */
import type { WaitContext, WaitStrategy, WaitSubject } from './types.js';
import { invalidArgument } from './validate.js';

/** why a strategy still running was stopped: a sibling decided the outcome */
const DECIDED = Symbol('decided by another strategy');

export class AllWaitStrategy implements WaitStrategy {
  private readonly strategies: readonly WaitStrategy[];

  constructor(strategies: readonly WaitStrategy[]) {
    this.strategies = checkStrategies('Wait.forAll', strategies);
  }

  describe(subject?: WaitSubject): string {
    return `all of: ${this.strategies.map((s) => s.describe(subject)).join('; ')}`;
  }

  async wait(ctx: WaitContext): Promise<void> {
    await waitSideBySide(ctx, this.strategies, 'all');
  }
}

export class AnyWaitStrategy implements WaitStrategy {
  private readonly strategies: readonly WaitStrategy[];

  constructor(strategies: readonly WaitStrategy[]) {
    this.strategies = checkStrategies('Wait.forAny', strategies);
  }

  describe(subject?: WaitSubject): string {
    return `any of: ${this.strategies.map((s) => s.describe(subject)).join('; ')}`;
  }

  async wait(ctx: WaitContext): Promise<void> {
    await waitSideBySide(ctx, this.strategies, 'any');
  }
}

function checkStrategies(call: string, strategies: readonly WaitStrategy[]): readonly WaitStrategy[] {
  if (!Array.isArray(strategies) || !strategies.length) throw invalidArgument(call, 'strategies', 'must be a non-empty array of wait strategies');
  strategies.forEach((s, i) => {
    if (typeof s?.describe !== 'function' || typeof s?.wait !== 'function') {
      throw invalidArgument(call, `strategies[${i}]`, 'is not a wait strategy (made by Wait.for…)');
    }
  });
  return [...strategies];
}

interface Part {
  description: string;
  state: 'waiting' | 'ready' | 'failed';
  saw?: string;
  hint?: string | undefined;
}

async function waitSideBySide(ctx: WaitContext, strategies: readonly WaitStrategy[], need: 'all' | 'any'): Promise<void> {
  ctx.signal.throwIfAborted(); // its abort event has been and gone: the runs would never hear it
  const decided = new AbortController();
  const stopWithParent = () => decided.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', stopWithParent, { once: true });
  const parts: Part[] = strategies.map((s) => ({ description: s.describe(ctx), state: 'waiting' }));
  const report = () => {
    const pending = parts.filter((p) => p.state === 'waiting');
    const lines = parts.map((p) => `${p.state === 'ready' ? 'ready' : p.state === 'failed' ? 'cannot be ready' : 'not yet'}: ${p.description}${p.saw && p.state !== 'ready' ? ` — ${p.saw}` : ''}`);
    ctx.saw(lines.join('\n'), pending.find((p) => p.hint)?.hint);
  };
  const runs = strategies.map(async (s, i) => {
    const part = parts[i]!;
    const child: WaitContext = {
      ...ctx,
      signal: decided.signal,
      saw: (observation, hint) => {
        part.saw = observation;
        part.hint = hint;
        report();
      },
    };
    try {
      await s.wait(child);
      part.state = 'ready';
      report();
      if (need === 'any') decided.abort(DECIDED);
    } catch (e) {
      if (decided.signal.aborted) throw decided.signal.reason;
      part.state = 'failed';
      part.saw = e instanceof Error ? e.message.split('\n')[0] : String(e);
      report();
      // one that can never be ready makes "all" impossible, and leaves "any" to the others
      if (need === 'all') decided.abort(DECIDED);
      throw e;
    }
  });
  try {
    if (need === 'all') {
      await allOrTheRealFailure(runs);
    } else {
      await Promise.any(runs).catch((e: AggregateError) => {
        throw e.errors.find((x) => x !== DECIDED && x !== ctx.signal.reason) ?? e.errors[0];
      });
    }
  } finally {
    ctx.signal.removeEventListener('abort', stopWithParent);
    if (!decided.signal.aborted) decided.abort(DECIDED);
  }
}

/** Like Promise.all, but lets every run stop, and rejects with a real failure rather than the stop it caused in the others. */
async function allOrTheRealFailure(runs: Promise<void>[]): Promise<void> {
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason !== DECIDED);
  if (failed) throw failed.reason;
}
