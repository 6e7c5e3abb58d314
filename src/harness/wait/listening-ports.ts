/**
 * Ready when the container's own processes listen on the ports. Asked of the container's network
 * namespace (its /proc/net/tcp, read by the sandbox), not of the host: the host side of a published
 * port accepts connections from the start, long before the service inside is up; and no shell or
 * `nc` is needed in the image, so distroless images wait like any other.
 */
import { MayflyError } from '../../core/errors.js';
import { notYet, pollUntilReady, READY, type Attempt } from './poll.js';
import type { WaitContext, WaitStrategy, WaitSubject } from './types.js';
import { checkPort } from './validate.js';

const CALL = 'Wait.forListeningPorts';

export class ListeningPortsWaitStrategy implements WaitStrategy {
  private readonly ports: readonly number[];

  /** No ports: every port the container publishes or exposes. */
  constructor(ports: readonly number[] = []) {
    this.ports = [...new Set(ports.map((p, i) => checkPort(CALL, `port ${i + 1}`, p)))];
  }

  describe(subject?: WaitSubject): string {
    const ports = this.ports.length ? this.ports : (subject?.exposedPorts ?? []);
    if (!ports.length) return 'every exposed port listening inside the container';
    return `${ports.length === 1 ? 'port' : 'ports'} ${ports.join(', ')} listening inside the container`;
  }

  async wait(ctx: WaitContext): Promise<void> {
    const wanted = this.ports.length ? this.ports : [...new Set(ctx.exposedPorts)];
    if (!wanted.length) {
      throw new MayflyError('INVALID_OPTION', `${CALL}() has no port to wait for: ${ctx.target.name} publishes and exposes none`, {
        details: { call: CALL },
        hint: `name the ports, e.g. ${CALL}(5432), or publish them`,
      });
    }
    await pollUntilReady(ctx, async () => missingPorts(wanted, await ctx.target.listening()));
  }
}

function missingPorts(wanted: readonly number[], listening: number[]): Attempt {
  const missing = wanted.filter((p) => !listening.includes(p));
  if (!missing.length) return READY;
  const what = `${missing.length === 1 ? 'port' : 'ports'} ${missing.join(', ')} not listening`;
  if (!listening.length) return notYet(`${what}; nothing listens yet`);
  const others = listening.filter((p) => !wanted.includes(p));
  return notYet(
    `${what}; listening: ${listening.join(', ')}`,
    others.length ? `the container listens on ${others.join(', ')}: is that the port its service uses (a setting or the image's default)?` : undefined,
  );
}
