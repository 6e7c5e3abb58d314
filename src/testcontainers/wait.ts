/** The strategies of Testcontainers' `Wait`, each carried out by mayfly's readiness probing. */
import { CompositeWaitStrategy } from './composite-wait-strategy.js';
import { HealthCheckWaitStrategy } from './health-check-wait-strategy.js';
import { HostPortWaitStrategy } from './host-port-wait-strategy.js';
import { HttpWaitStrategy, type HttpWaitStrategyOptions } from './http-wait-strategy.js';
import { LogWaitStrategy, type Log } from './log-wait-strategy.js';
import { OneShotStartupCheckStrategy } from './one-shot-startup-check-strategy.js';
import { ShellWaitStrategy } from './shell-wait-strategy.js';
import type { WaitStrategy } from './wait-strategy.js';

export class Wait {
  static forAll(waitStrategies: WaitStrategy[]): CompositeWaitStrategy {
    return new CompositeWaitStrategy(waitStrategies);
  }

  /** every published TCP port listening inside the container (the default) */
  static forListeningPorts(): WaitStrategy {
    return new HostPortWaitStrategy();
  }

  static forLogMessage(message: Log | RegExp, times = 1): WaitStrategy {
    return new LogWaitStrategy(message, times);
  }

  static forHealthCheck(): WaitStrategy {
    return new HealthCheckWaitStrategy();
  }

  static forOneShotStartup(): WaitStrategy {
    return new OneShotStartupCheckStrategy();
  }

  static forHttp(path: string, port: number, options: HttpWaitStrategyOptions = { abortOnContainerExit: false }): HttpWaitStrategy {
    return new HttpWaitStrategy(path, port, options);
  }

  static forSuccessfulCommand(command: string): ShellWaitStrategy {
    return new ShellWaitStrategy(command);
  }
}
