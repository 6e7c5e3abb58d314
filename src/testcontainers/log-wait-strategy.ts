/** `Wait.forLogMessage(text | regex, times)`: that many lines of output (stdout or stderr) matching, since the (re)start. */
import { LogMessageWaitStrategy } from '../harness/wait/log-message.js';
import type { WaitStrategy as HarnessWaitStrategy } from '../harness/wait/index.js';
import { HarnessBackedWaitStrategy } from './wait-strategy.js';

export type Log = string;

export class LogWaitStrategy extends HarnessBackedWaitStrategy {
  private readonly strategy: LogMessageWaitStrategy;

  constructor(
    private readonly message: Log | RegExp,
    private readonly times: number,
  ) {
    super();
    this.strategy = new LogMessageWaitStrategy(message, times); // checks its arguments now, in the test's stack
  }

  /** @internal */
  harnessStrategy(): HarnessWaitStrategy {
    return this.strategy;
  }

  /** @internal */
  timeoutSentence(_ctx: unknown, timeoutMs: number): string {
    return `Log message "${String(this.message)}" not received after ${timeoutMs}ms${this.times > 1 ? ` (${this.times} times)` : ''}`;
  }
}
