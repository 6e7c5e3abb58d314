/**
 * A started container's published ports, `'8080/tcp'` → host port, in the order they were asked
 * for: what `getMappedPort` and `getFirstMappedPort` read, and what wait strategies are given.
 */
import { MayflyError } from '../core/errors.js';
import type { PublishedPort } from '../model/container-types.js';
import { getContainerPort, getProtocol, type PortWithOptionalBinding } from './port.js';

export class BoundPorts {
  private readonly ports = new Map<string, number>();

  getBinding(port: number | string, protocol = 'tcp'): number {
    const key = keyOf(port, protocol);
    const binding = this.ports.get(key);
    if (binding === undefined) {
      throw new MayflyError('INVALID_OPTION', `No port binding found for :${key}`, {
        hint: this.ports.size ? `published: ${[...this.ports.keys()].join(', ')}` : 'publish it with withExposedPorts()',
      });
    }
    return binding;
  }

  getFirstBinding(): number {
    const first = this.ports.values().next();
    if (first.done) throw new MayflyError('INVALID_OPTION', 'No port bindings found', { hint: 'publish a port with withExposedPorts()' });
    return first.value;
  }

  setBinding(key: string | number, value: number, protocol = 'tcp'): void {
    this.ports.set(keyOf(key, protocol), value);
  }

  iterator(): Iterable<[string, number]> {
    return this.ports;
  }

  /** only the ports in `ports`, in this object's order */
  filter(ports: PortWithOptionalBinding[]): BoundPorts {
    const wanted = new Set(ports.map((p) => `${getContainerPort(p)}/${getProtocol(p)}`));
    const out = new BoundPorts();
    for (const [key, hostPort] of this.ports) if (wanted.has(key)) out.setBinding(key, hostPort);
    return out;
  }

  /** From mayfly's published ports, in the order of `asked` first (what withExposedPorts listed), then the rest. */
  static fromPublished(published: PublishedPort[], asked: PortWithOptionalBinding[] = []): BoundPorts {
    const out = new BoundPorts();
    const byKey = new Map(published.map((p) => [`${p.containerPort}/${p.protocol}`, p.hostPort]));
    for (const p of asked) {
      const key = `${getContainerPort(p)}/${getProtocol(p)}`;
      const hostPort = byKey.get(key);
      if (hostPort !== undefined) out.setBinding(key, hostPort);
    }
    for (const [key, hostPort] of byKey) if (!out.ports.has(key)) out.setBinding(key, hostPort);
    return out;
  }
}

function keyOf(port: number | string, protocol: string): string {
  if (typeof port === 'string' && port.includes('/')) {
    const [n, p = 'tcp'] = port.split('/');
    return `${n}/${p.toLowerCase()}`;
  }
  return `${port}/${protocol.toLowerCase()}`;
}
