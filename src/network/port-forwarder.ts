/**
 * Published ports without root and without a helper process per container: the sandbox (in the
 * host's network namespace) listens on the host port and accepts; the pump thread (pump-worker.ts)
 * connects each client to the container port from inside the container's network namespace and
 * relays the two, so forwarded bytes never pass through Node's event loop. A UDP port is bound here
 * and then relayed by the pump entirely (udp-relay.ts).
 */
import { createServer, type Server } from 'node:net';
import { constants } from 'node:os';
import { MayflyError } from '../core/errors.js';
import { SyscallError } from '../sys/libc.js';
import { bindUdp } from '../sys/sockets.js';
import { sharedPump, type Pump } from './pump.js';
import type { PortMapping, PublishedPort } from '../model/container-types.js';

/** how long a UDP client's upstream socket outlives its last datagram (Docker's proxy: 90 s as well) */
const UDP_IDLE_MS = 90_000;

export class PortForwarder {
  private readonly servers: Server[] = [];
  private pump: Pump | undefined;
  private group: number | undefined;

  /** Opens the container's network namespace (`netns`, e.g. /proc/PID/ns/net) and starts a listener per mapping. */
  async start(netns: string, mappings: PortMapping[]): Promise<PublishedPort[]> {
    if (!mappings.length) return [];
    this.pump = sharedPump();
    this.group = this.pump.openGroup(netns);
    const published: PublishedPort[] = [];
    try {
      for (const m of mappings) published.push(m.protocol === 'udp' ? this.bindUdp(m) : await this.listenTcp(m));
    } catch (e) {
      this.close();
      throw e;
    }
    return published;
  }

  private bindUdp(m: PortMapping): PublishedPort {
    let bound: { fd: number; port: number };
    try {
      bound = bindUdp(m.hostIp, m.hostPort);
    } catch (e) {
      throw publishError(m, e instanceof SyscallError && e.errno === constants.errno.EADDRINUSE ? 'EADDRINUSE' : undefined, (e as Error).message);
    }
    this.pump!.relayUdp(this.group!, bound.fd, m.containerPort, UDP_IDLE_MS);
    return { ...m, hostPort: bound.port };
  }

  private listenTcp(m: PortMapping): Promise<PublishedPort> {
    // paused: the pump takes the socket before Node reads a byte of it
    const server = createServer({ pauseOnConnect: true }, (client) => {
      if (this.group === undefined) return client.destroy();
      this.pump!.forward(this.group, client, m.containerPort);
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(publishError(m, e.code, e.message)));
      server.listen({ host: m.hostIp, port: m.hostPort, exclusive: true }, () => {
        const addr = server.address();
        resolve({ ...m, hostPort: typeof addr === 'object' && addr ? addr.port : m.hostPort });
      });
    });
  }

  /**
   * Stops listening and ends every forwarded connection. TCP host ports are free when this returns;
   * UDP ones (their sockets live in the pump) as soon as the pump reads the command, microseconds later.
   */
  close(): void {
    for (const s of this.servers.splice(0)) s.close();
    if (this.group !== undefined) this.pump!.closeGroup(this.group);
    this.group = undefined;
  }
}

function publishError(m: PortMapping, code: string | undefined, message: string): MayflyError {
  const inUse = code === 'EADDRINUSE';
  return new MayflyError('INVALID_OPTION', `cannot publish ${m.hostIp}:${m.hostPort || '(any)'} → ${m.containerPort}/${m.protocol}: ${inUse ? 'the host port is already in use' : message}`, {
    hint: inUse ? 'choose another host port, or let mayfly pick one (-P, or host port 0)' : undefined,
  });
}
