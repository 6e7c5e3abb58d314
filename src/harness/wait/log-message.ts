/**
 * Ready when the container has printed a matching line (on stdout or stderr) `times` times: for
 * services whose only sign of readiness is a line like "ready to accept connections", which some
 * print twice (postgres: once for its init run, once for the real server).
 */
import { FIRST_PAUSE_MS, notYet, PAUSE_GROWTH, pollUntilReady, READY } from './poll.js';
import type { WaitContext, WaitStrategy } from './types.js';
import { checkCount, invalidArgument } from './validate.js';

const CALL = 'Wait.forLogMessage';
const LOG_POLL_MS = 30;

export class LogMessageWaitStrategy implements WaitStrategy {
  private readonly matches: (line: string) => boolean;

  constructor(
    private readonly message: RegExp | string,
    private readonly times = 1,
  ) {
    if (message instanceof RegExp) {
      // a /g or /y pattern remembers where it last matched and would skip lines
      const re = message.global || message.sticky ? new RegExp(message.source, message.flags.replace(/[gy]/g, '')) : message;
      this.matches = (line) => re.test(line);
    } else if (typeof message === 'string' && message !== '') {
      this.matches = (line) => line.includes(message);
    } else {
      throw invalidArgument(CALL, 'message', 'must be a RegExp or a non-empty string');
    }
    checkCount(CALL, 'times', times);
  }

  describe(): string {
    const what = this.message instanceof RegExp ? `matching ${this.message}` : `containing ${JSON.stringify(this.message)}`;
    return this.times === 1 ? `a log line ${what}` : `${this.times} log lines ${what}`;
  }

  async wait(ctx: WaitContext): Promise<void> {
    await pollUntilReady(ctx, async () => {
      const lines = await ctx.target.logs();
      const seen = lines.filter((e) => this.matches(e.line)).length;
      if (seen >= this.times) return READY;
      const of = `among ${lines.length} ${lines.length === 1 ? 'line' : 'lines'} of output`;
      return notYet(
        seen ? `${seen} of ${this.times} matching lines ${of}` : `no matching line ${of}`,
        lines.length ? undefined : 'the container has printed nothing yet (a line counts once it ends with a newline)',
      );
      // reading the log file is cheap: look often, so that the line is seen within ~30 ms of being written
    }, { firstMs: FIRST_PAUSE_MS, growth: PAUSE_GROWTH, maxMs: LOG_POLL_MS });
  }
}
