/** `Wait.forSuccessfulCommand('pg_isready')`: a shell command line (run by /bin/sh -c inside the container) exiting 0. */
import { SuccessfulCommandWaitStrategy } from '../harness/wait/successful-command.js';
import type { WaitStrategy as HarnessWaitStrategy } from '../harness/wait/index.js';
import { HarnessBackedWaitStrategy } from './wait-strategy.js';

export class ShellWaitStrategy extends HarnessBackedWaitStrategy {
  private readonly strategy: SuccessfulCommandWaitStrategy;

  constructor(private readonly command: string) {
    super();
    this.strategy = new SuccessfulCommandWaitStrategy(['/bin/sh', '-c', command]);
  }

  /** @internal */
  harnessStrategy(): HarnessWaitStrategy {
    return this.strategy;
  }

  /** @internal */
  timeoutSentence(_ctx: unknown, timeoutMs: number): string {
    return `Shell command "${this.command}" not successful after ${timeoutMs}ms`;
  }
}
