/**
 * A container whose job is to run and finish (a migration, a seed script): ready when it has
 * exited with code 0. Any other exit code fails with its logs. Testcontainers' forOneShotStartup.
 */
import type { WaitStrategy } from './types.js';

export class OneShotWaitStrategy implements WaitStrategy {
  /** waitUntilReady treats an exit as the goal, not as a failure */
  readonly exitIsTheGoal = true;

  describe(): string {
    return 'its command to finish with exit code 0';
  }

  async wait(): Promise<void> {
    // waitUntilReady awaits the exit itself: it owns the exit watch and the deadline
  }
}
