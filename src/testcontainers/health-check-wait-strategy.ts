/**
 * `Wait.forHealthCheck()`: the healthcheck set with withHealthCheck(), else the image's HEALTHCHECK,
 * run as Docker runs it — but from the start on short polling rather than after a first interval,
 * with the verdict "unhealthy" no sooner than Docker's.
 */
import { HealthcheckWaitStrategy } from '../harness/wait/healthcheck.js';
import type { WaitStrategy as HarnessWaitStrategy } from '../harness/wait/index.js';
import { HarnessBackedWaitStrategy, type ReadinessContext } from './wait-strategy.js';

export class HealthCheckWaitStrategy extends HarnessBackedWaitStrategy {
  /** @internal */
  harnessStrategy(ctx: ReadinessContext): HarnessWaitStrategy {
    return new HealthcheckWaitStrategy(ctx.healthCheck);
  }

  /** @internal */
  timeoutSentence(_ctx: unknown, timeoutMs: number): string {
    return `Health check not healthy after ${timeoutMs}ms`;
  }
}
