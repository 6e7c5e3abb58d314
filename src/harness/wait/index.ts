/**
 * Wait strategies: how the harness knows a started container is ready for the test. The names are
 * Testcontainers' (`Wait.forHttp`, `Wait.forLogMessage`, ...), so a test ports over unchanged.
 */
import { AllWaitStrategy, AnyWaitStrategy } from './composite.js';
import { HealthcheckWaitStrategy } from './healthcheck.js';
import { HttpWaitStrategy, type HttpWaitOptions } from './http.js';
import { ListeningPortsWaitStrategy } from './listening-ports.js';
import { LogMessageWaitStrategy } from './log-message.js';
import { NoWaitStrategy } from './none.js';
import { OneShotWaitStrategy } from './one-shot.js';
import { SuccessfulCommandWaitStrategy, type SuccessfulCommandOptions } from './successful-command.js';
import type { Healthcheck, WaitStrategy } from './types.js';

export const Wait = {
  /** The ports listening inside the container (not merely on the host); none given: every published and exposed port. */
  forListeningPorts: (...ports: number[]): WaitStrategy => new ListeningPortsWaitStrategy(ports),
  /** An HTTP request from the host to the published `port` answering as expected (default: any 2xx). */
  forHttp: (path: string, port: number, options?: HttpWaitOptions): WaitStrategy => new HttpWaitStrategy(path, port, options),
  /** `times` lines of stdout and stderr matching `message` (a RegExp, or text the line contains). */
  forLogMessage: (message: RegExp | string, times = 1): WaitStrategy => new LogMessageWaitStrategy(message, times),
  /** A command run in the container exiting 0: an argv, or a shell command line (run by /bin/sh -c). */
  forSuccessfulCommand: (command: string | string[], options?: SuccessfulCommandOptions): WaitStrategy => new SuccessfulCommandWaitStrategy(command, options),
  /** The image's HEALTHCHECK (or the one given) passing, run as Docker runs it. */
  forHealthcheck: (healthcheck?: Healthcheck): WaitStrategy => new HealthcheckWaitStrategy(healthcheck),
  /** Testcontainers' spelling of forHealthcheck. */
  forHealthCheck: (healthcheck?: Healthcheck): WaitStrategy => new HealthcheckWaitStrategy(healthcheck),
  /** Every strategy holding (each once; they wait side by side). */
  forAll: (strategies: WaitStrategy[]): WaitStrategy => new AllWaitStrategy(strategies),
  /** Any one strategy holding. */
  forAny: (strategies: WaitStrategy[]): WaitStrategy => new AnyWaitStrategy(strategies),
  /** Ready when its command has finished with exit code 0 (a migration, a seed job). */
  forOneShotStartup: (): WaitStrategy => new OneShotWaitStrategy(),
  /** Ready once its program runs. */
  none: (): WaitStrategy => new NoWaitStrategy(),
} as const;

export { waitUntilReady, DEFAULT_TIMEOUT_MS, type WaitOptions } from './wait-until-ready.js';
export { healthcheckFromImageConfig } from './healthcheck.js';
export type { HttpWaitOptions } from './http.js';
export type { SuccessfulCommandOptions } from './successful-command.js';
export type { Healthcheck, WaitContext, WaitStrategy, WaitSubject, WaitTarget, ContainerStatus } from './types.js';
export { pollUntilReady, untilAborted, notYet, firstLine, READY, type Attempt, type PollPauses } from './poll.js';
