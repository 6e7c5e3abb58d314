/** `Wait.forOneShotStartup()`: ready when its command has finished with exit code 0 (a migration, a seed job). */
import { Wait as HarnessWait, type WaitStrategy as HarnessWaitStrategy, type WaitTarget } from '../harness/wait/index.js';
import { StartupCheckStrategy, type StartupStatus } from './startup-check-strategy.js';

export class OneShotStartupCheckStrategy extends StartupCheckStrategy {
  async checkStartupState(container: WaitTarget): Promise<StartupStatus> {
    if (container.status !== 'exited' && container.status !== 'removed') return 'PENDING';
    return (await container.wait?.())?.exitCode === 0 ? 'SUCCESS' : 'FAIL';
  }

  /** @internal mayfly's own: the exit is what it waits for, so it is not taken for a failure */
  override harnessStrategy(): HarnessWaitStrategy {
    return HarnessWait.forOneShotStartup();
  }
}
