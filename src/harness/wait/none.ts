/**
 * No waiting: the container counts as ready once its program runs — for containers whose readiness
 * the test checks itself, or one-shot containers awaited with `container.wait()`.
 */
import type { WaitStrategy } from './types.js';

export class NoWaitStrategy implements WaitStrategy {
  describe(): string {
    return 'nothing (Wait.none())';
  }

  async wait(): Promise<void> {}
}
