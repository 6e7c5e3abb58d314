/**
 * Where a service started in another process is reached: the part of a started container that
 * survives JSON (Vitest's `provide`, an environment variable for Jest's workers). A worker turns the
 * record back into a `ServiceEndpoint`, which answers `host`, `port(n)` and `url(n)` as a
 * `StartedContainer` does, so a test reads the same whether its service is its own or shared.
 */
import { MayflyError } from '../core/errors.js';
import type { StartedContainer } from '../harness/started-container.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A started service as plain JSON. */
export interface ServiceRecord {
  /** the container's name */
  name: string;
  id: string;
  /** the host address its ports are published on */
  host: string;
  /** container port → host port: `{ "6379": 41234 }` (UDP ports as `"53/udp"`) */
  ports: Record<string, number>;
  /** whatever the service definition's `details` added (a connection string, a password) */
  details: Record<string, JsonValue>;
}

export function serviceRecord(c: StartedContainer, details: Record<string, JsonValue> = {}): ServiceRecord {
  const ports: Record<string, number> = {};
  for (const p of c.ports()) ports[p.protocol === 'udp' ? `${p.containerPort}/udp` : String(p.containerPort)] = p.hostPort;
  return { name: c.name, id: c.id, host: c.host, ports, details };
}

export class ServiceEndpoint {
  readonly name: string;
  readonly id: string;
  readonly host: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly details: Readonly<Record<string, JsonValue>>;

  constructor(
    /** the service's name in the definitions (`redis`), for messages */
    readonly service: string,
    record: ServiceRecord,
  ) {
    this.name = record.name;
    this.id = record.id;
    this.host = record.host;
    this.ports = record.ports;
    this.details = record.details;
  }

  /** The host port a container port is published on (Testcontainers' `getMappedPort`). */
  port(containerPort: number): number {
    const p = this.ports[String(containerPort)];
    if (p === undefined) {
      const published = Object.keys(this.ports);
      throw new MayflyError('INVALID_OPTION', `container port ${containerPort} of service ${this.service} is not published`, {
        hint: published.length ? `published: ${published.join(', ')}` : 'publish it with withExposedPorts(...) (exposedPorts) in the service definition',
      });
    }
    return p;
  }

  /** `http://host:port/path` for a published port. */
  url(containerPort: number, path = '/'): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.port(containerPort)}${path.startsWith('/') ? path : `/${path}`}`;
  }

  toJSON(): ServiceRecord {
    return { name: this.name, id: this.id, host: this.host, ports: { ...this.ports }, details: { ...this.details } };
  }
}
