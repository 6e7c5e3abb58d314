/**
 * `Wait.forAll([...])`: every strategy holding, awaited side by side. A startup timeout set here
 * goes to the strategies that have none of their own; the whole waits as long as the longest of
 * them, or until the deadline (`withDeadline(ms)`), whichever is given.
 */
import { AllWaitStrategy } from '../harness/wait/composite.js';
import { Wait as HarnessWait, type WaitStrategy as HarnessWaitStrategy } from '../harness/wait/index.js';
import { HarnessBackedWaitStrategy, harnessStrategyOf, type ReadinessContext, type WaitStrategy } from './wait-strategy.js';

export class CompositeWaitStrategy extends HarnessBackedWaitStrategy {
  private deadline?: number;

  constructor(private readonly waitStrategies: WaitStrategy[]) {
    super();
  }

  override withStartupTimeout(startupTimeoutMs: number): this {
    for (const s of this.waitStrategies) if (!s.isStartupTimeoutSet()) s.withStartupTimeout(startupTimeoutMs);
    return super.withStartupTimeout(startupTimeoutMs);
  }

  withDeadline(deadline: number): this {
    this.deadline = deadline;
    return this;
  }

  override getStartupTimeout(): number {
    if (this.deadline !== undefined) return this.deadline;
    return this.waitStrategies.length ? Math.max(...this.waitStrategies.map((s) => s.getStartupTimeout())) : super.getStartupTimeout();
  }

  /** @internal */
  harnessStrategy(ctx: ReadinessContext): HarnessWaitStrategy {
    // none at all: ready at once, as Testcontainers' Promise.all([]) is
    return this.waitStrategies.length ? new AllWaitStrategy(this.waitStrategies.map((s) => harnessStrategyOf(s, ctx))) : HarnessWait.none();
  }

  /** @internal */
  timeoutSentence(_ctx: unknown, timeoutMs: number): string {
    return `Composite wait strategy not successful after ${timeoutMs}ms`;
  }
}
