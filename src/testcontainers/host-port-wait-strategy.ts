/** `Wait.forListeningPorts()`: every published TCP port listening inside the container (its own network namespace, not merely the host side). */
import { Wait as HarnessWait, type WaitStrategy as HarnessWaitStrategy } from '../harness/wait/index.js';
import type { BoundPorts } from './bound-ports.js';
import { HarnessBackedWaitStrategy, type ReadinessContext } from './wait-strategy.js';

export class HostPortWaitStrategy extends HarnessBackedWaitStrategy {
  /** @internal */
  harnessStrategy(ctx: ReadinessContext): HarnessWaitStrategy {
    const ports = tcpPorts(ctx.boundPorts);
    // nothing published: nothing to wait for, as in Testcontainers
    return ports.length ? HarnessWait.forListeningPorts(...ports) : HarnessWait.none();
  }

  /** @internal */
  timeoutSentence(ctx: ReadinessContext, timeoutMs: number): string {
    return `Port ${tcpPorts(ctx.boundPorts).join(', ')} not bound after ${timeoutMs}ms`;
  }
}

/** UDP ports are skipped: whether a UDP service is up cannot be seen from its sockets */
function tcpPorts(bound: BoundPorts): number[] {
  return [...bound.iterator()].filter(([key]) => key.endsWith('/tcp')).map(([key]) => Number.parseInt(key, 10));
}
