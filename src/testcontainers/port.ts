/** How Testcontainers names a container port: `8080`, `'53/udp'`, or `{ container, host, protocol }` (a fixed host port). */
import { MayflyError } from '../core/errors.js';

export type PortWithBinding = { container: number; host: number; protocol?: 'tcp' | 'udp' };

export type PortWithOptionalBinding = number | `${number}/${'tcp' | 'udp'}` | PortWithBinding;

const WITH_PROTOCOL = /^(\d+)(?:\/(tcp|udp))?$/i;

export function getContainerPort(port: PortWithOptionalBinding): number {
  if (typeof port === 'number') return port;
  if (typeof port === 'string') {
    const m = WITH_PROTOCOL.exec(port);
    if (!m) throw new MayflyError('INVALID_OPTION', `Invalid port format: ${port}`, { hint: 'write a port as 8080 or "8080/udp"' });
    return Number.parseInt(m[1]!, 10);
  }
  return port.container;
}

export function hasHostBinding(port: PortWithOptionalBinding): port is PortWithBinding {
  return typeof port === 'object' && port.host !== undefined;
}

export function getProtocol(port: PortWithOptionalBinding): 'tcp' | 'udp' {
  if (typeof port === 'number') return 'tcp';
  if (typeof port === 'string') return WITH_PROTOCOL.exec(port)?.[2]?.toLowerCase() === 'udp' ? 'udp' : 'tcp';
  return port.protocol === 'udp' ? 'udp' : 'tcp';
}
