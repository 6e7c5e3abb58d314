/**
 * Ready when the image's HEALTHCHECK passes, run as Docker runs it: `CMD` as an argv, `CMD-SHELL`
 * by /bin/sh -c, exit 0 healthy, each run bounded by the healthcheck's timeout. One deliberate
 * difference: Docker first runs the check after a whole interval (30 s by default), a test wants
 * to start the moment the service is up, so the check runs on the usual short polling (what
 * Docker 25's --start-interval is for). The verdict "unhealthy" comes no sooner than Docker's
 * would: failures in the start period do not count, then `retries` failures in a row spanning
 * `retries` intervals.
 */
import { MayflyError } from '../../core/errors.js';
import { formatDuration, notYet, pollUntilReady } from './poll.js';
import { runOnce } from './successful-command.js';
import type { Healthcheck, WaitContext, WaitStrategy, WaitSubject } from './types.js';
import { describeArgv, invalidArgument } from './validate.js';

const CALL = 'Wait.forHealthcheck';
const NS_PER_MS = 1_000_000;
const DOCKER_DEFAULT = { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 };

interface HealthcheckPlan {
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
}

/** The `Healthcheck` of an image config (`{ Test, Interval, ... }`), or undefined when it has none. */
export function healthcheckFromImageConfig(h: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } | undefined): Healthcheck | undefined {
  if (!h?.Test?.length) return undefined;
  return {
    test: [...h.Test],
    ...(h.Interval ? { interval: h.Interval } : {}),
    ...(h.Timeout ? { timeout: h.Timeout } : {}),
    ...(h.StartPeriod ? { startPeriod: h.StartPeriod } : {}),
    ...(h.Retries ? { retries: h.Retries } : {}),
  };
}

export class HealthcheckWaitStrategy implements WaitStrategy {
  /** `healthcheck`: instead of the image's (`docker run --health-cmd`) */
  constructor(private readonly given?: Healthcheck) {
    if (given !== undefined) planOrNone(given, 'healthcheck');
  }

  describe(subject?: WaitSubject): string {
    return `${this.check(subject)} passing`;
  }

  /** `the image's HEALTHCHECK CMD-SHELL \`pg_isready\`` */
  private check(subject?: WaitSubject): string {
    const whose = this.given ? 'healthcheck' : "the image's HEALTHCHECK";
    const test = (this.given ?? subject?.healthcheck)?.test;
    if (!test?.length) return whose;
    const [kind, ...rest] = test;
    if (kind === 'CMD') return `${whose} CMD ${describeArgv(rest)}`;
    if (kind === 'CMD-SHELL') return `${whose} CMD-SHELL \`${rest.join(' ')}\``;
    return `${whose} ${test.join(' ')}`;
  }

  async wait(ctx: WaitContext): Promise<void> {
    const h = this.given ?? ctx.healthcheck;
    const plan = h ? planOrNone(h, 'the image\'s HEALTHCHECK') : 'none';
    if (plan === 'none') {
      throw new MayflyError('INVALID_OPTION', `${CALL}(): the image of ${ctx.target.name} has ${h ? 'HEALTHCHECK NONE' : 'no HEALTHCHECK'}`, {
        details: { call: CALL },
        hint: `give one — ${CALL}({ test: ['CMD-SHELL', 'pg_isready'] }) — or wait another way: Wait.forListeningPorts(), Wait.forHttp(path, port), Wait.forLogMessage(text)`,
      });
    }
    let failures = 0;
    let failingSince: number | undefined;
    await pollUntilReady(ctx, async () => {
      const started = Date.now();
      const attempt = await runOnce(ctx, plan.argv, plan.timeoutMs);
      if (attempt.ready) return attempt;
      if (started - ctx.since < plan.startPeriodMs) return notYet(`${attempt.saw} (in the start period)`, attempt.hint);
      failures++;
      failingSince ??= started;
      const failingFor = Date.now() - failingSince;
      if (failures >= plan.retries && failingFor >= plan.retries * plan.intervalMs) {
        throw new MayflyError('CONTAINER_UNHEALTHY', `${ctx.target.name} is unhealthy: ${this.check(ctx)} failed ${failures} times in a row over ${formatDuration(failingFor)} (retries ${plan.retries}, interval ${formatDuration(plan.intervalMs)}); the last run: ${attempt.saw}`, {
          details: { lastSeen: attempt.saw, failures },
          hint: 'run the healthcheck yourself with container.exec() to see why it fails',
        });
      }
      return attempt;
    });
  }
}

function planOrNone(h: Healthcheck, argument: string): HealthcheckPlan | 'none' {
  if (typeof h !== 'object' || h === null || !Array.isArray(h.test) || !h.test.every((t) => typeof t === 'string')) {
    throw invalidArgument(CALL, argument, 'must be { test: string[], interval?, timeout?, startPeriod?, retries? }');
  }
  const [kind, ...rest] = h.test;
  let argv: string[];
  if (kind === undefined || kind === 'NONE') return 'none';
  if (kind === 'CMD' && rest.length && rest[0]) argv = rest;
  else if (kind === 'CMD-SHELL' && rest.join(' ').trim()) argv = ['/bin/sh', '-c', rest.join(' ')];
  else {
    throw invalidArgument(CALL, `${argument}.test`, `must be ["CMD", program, ...args], ["CMD-SHELL", "command"] or ["NONE"], got ${JSON.stringify(h.test)}`);
  }
  return {
    argv,
    intervalMs: durationMs(h.interval, `${argument}.interval`) ?? DOCKER_DEFAULT.intervalMs,
    timeoutMs: durationMs(h.timeout, `${argument}.timeout`) ?? DOCKER_DEFAULT.timeoutMs,
    startPeriodMs: durationMs(h.startPeriod, `${argument}.startPeriod`) ?? DOCKER_DEFAULT.startPeriodMs,
    retries: retries(h.retries, `${argument}.retries`) ?? DOCKER_DEFAULT.retries,
  };
}

/** Nanoseconds, as the image config has them; 0 means the default, as in Docker. */
function durationMs(ns: number | undefined, argument: string): number | undefined {
  if (ns === undefined || ns === 0) return undefined;
  if (typeof ns !== 'number' || !Number.isFinite(ns) || ns < 0) throw invalidArgument(CALL, argument, `must be a duration in nanoseconds (1 s = 1e9), got ${String(ns)}`);
  return ns / NS_PER_MS;
}

function retries(n: number | undefined, argument: string): number | undefined {
  if (n === undefined || n === 0) return undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw invalidArgument(CALL, argument, `must be a whole number, got ${String(n)}`);
  return n;
}
