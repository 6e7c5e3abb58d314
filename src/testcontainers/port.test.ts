import { describe, expect, it } from 'vitest';
import { BoundPorts } from './bound-ports.js';
import { getContainerPort, getProtocol, hasHostBinding } from './port.js';

describe('ports as Testcontainers writes them', () => {
  it('8080, "53/udp", { container, host, protocol }', () => {
    expect([getContainerPort(8080), getContainerPort('53/udp'), getContainerPort('53/TCP' as '53/tcp'), getContainerPort({ container: 80, host: 8080 })]).toEqual([8080, 53, 53, 80]);
    expect([getProtocol(8080), getProtocol('53/udp'), getProtocol('53/TCP' as '53/tcp'), getProtocol({ container: 53, host: 53, protocol: 'udp' })]).toEqual(['tcp', 'udp', 'tcp', 'udp']);
    expect([hasHostBinding(8080), hasHostBinding({ container: 80, host: 8080 })]).toEqual([false, true]);
    expect(() => getContainerPort('80/sctp' as never)).toThrow('Invalid port format: 80/sctp');
  });

  it('bound ports: by port and protocol, "port/protocol", the first as asked, filtered to those asked', () => {
    const published = [
      { containerPort: 9000, protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 41000 },
      { containerPort: 8080, protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 42000 },
      { containerPort: 53, protocol: 'udp' as const, hostIp: '127.0.0.1', hostPort: 43000 },
    ];
    const b = BoundPorts.fromPublished(published, [8080, '53/udp']);
    expect(b.getFirstBinding()).toBe(42000);
    expect(b.getBinding(53, 'udp')).toBe(43000);
    expect(b.getBinding('53/UDP')).toBe(43000);
    expect(b.getBinding(9000)).toBe(41000);
    const asked = b.filter([8080, '53/udp']);
    expect([...asked.iterator()]).toEqual([['8080/tcp', 42000], ['53/udp', 43000]]);
    expect(() => asked.getBinding(9000)).toThrow('No port binding found for :9000/tcp');
    expect(() => new BoundPorts().getFirstBinding()).toThrow('No port bindings found');
  });
});
