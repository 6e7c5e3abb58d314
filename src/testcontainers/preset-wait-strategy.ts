/** A preset's own readiness check (a query through the service's client inside the container) as a Testcontainers strategy, for the modules. */
import type { WaitStrategy as HarnessWaitStrategy } from '../harness/wait/index.js';
import { HarnessBackedWaitStrategy } from './wait-strategy.js';

export class PresetWaitStrategy extends HarnessBackedWaitStrategy {
  constructor(private readonly strategy: HarnessWaitStrategy) {
    super();
  }

  /** @internal */
  harnessStrategy(): HarnessWaitStrategy {
    return this.strategy;
  }

  /** @internal */
  timeoutSentence(_ctx: unknown, timeoutMs: number): string {
    return `${this.strategy.describe()}: not ready after ${timeoutMs}ms`;
  }
}
