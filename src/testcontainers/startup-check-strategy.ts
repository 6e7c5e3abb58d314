/**
 * A strategy that asks a question of the container until it answers SUCCESS or FAIL. Subclasses get
 * mayfly's handle of the container (its `status`, `wait()`, `exec`, `logs`…), not a Docker client.
 */
import { MayflyError } from '../core/errors.js';
import { notYet, pollUntilReady, READY, type WaitStrategy as HarnessWaitStrategy, type WaitTarget } from '../harness/wait/index.js';
import { HarnessBackedWaitStrategy } from './wait-strategy.js';

export type StartupStatus = 'PENDING' | 'SUCCESS' | 'FAIL';

export abstract class StartupCheckStrategy extends HarnessBackedWaitStrategy {
  abstract checkStartupState(container: WaitTarget, containerId: string): Promise<StartupStatus>;

  /** @internal */
  harnessStrategy(): HarnessWaitStrategy {
    return {
      describe: () => `${this.constructor.name}: startup state SUCCESS`,
      wait: (ctx) =>
        pollUntilReady(ctx, async () => {
          const id = idOf(ctx.target);
          const state = await this.checkStartupState(ctx.target, id);
          if (state === 'SUCCESS') return READY;
          if (state === 'FAIL') throw new MayflyError('CONTAINER_START_FAILED', `Container failed to start for ${id}`, { hint: 'its logs: container.logs()' });
          return notYet('startup state PENDING');
        }),
    };
  }

  /** @internal */
  timeoutSentence(_ctx: unknown, timeoutMs: number): string {
    return `Container not accessible after ${timeoutMs}ms`;
  }
}

function idOf(target: WaitTarget): string {
  return (target as WaitTarget & { id?: string }).id ?? target.name;
}
