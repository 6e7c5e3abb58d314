/**
 * Published ports without root and without a helper process per container: the sandbox (in the
 * host's network namespace) listens on the host port and accepts; the pump thread (pump-worker.ts)
 * connects each client to the container port from inside the container's network namespace and
 * splices the two in the kernel, so forwarded bytes never pass through Node's event loop.
 */
import { createServer, type Server } from 'node:net';
import { MayflyError } from '../errors.js';
import { Pump } from './pump.js';

export interface PortMapping {
  containerPort: number;
  protocol: 'tcp';
  hostIp: string;
  /** 0: any free port (picked by the kernel when the listener binds: no race with other processes) */
  hostPort: number;
}

export interface PublishedPort extends PortMapping {
  hostPort: number;
}

let shared: Pump | undefined;

export class PortForwarder {
  private readonly servers: Server[] = [];
  private pump: Pump | undefined;
  private group: number | undefined;

  /** Opens the container's network namespace (`netns`, e.g. /proc/PID/ns/net) and starts a listener per mapping. */
  async start(netns: string, mappings: PortMapping[]): Promise<PublishedPort[]> {
    if (!mappings.length) return [];
    this.pump = shared ??= new Pump();
    this.group = this.pump.openGroup(netns);
    const published: PublishedPort[] = [];
    try {
      for (const m of mappings) published.push(await this.listen(m));
    } catch (e) {
      this.close();
      throw e;
    }
    return published;
  }

  private listen(m: PortMapping): Promise<PublishedPort> {
    // paused: the pump takes the socket before Node reads a byte of it
    const server = createServer({ pauseOnConnect: true }, (client) => {
      if (this.group === undefined) return client.destroy();
      this.pump!.forward(this.group, client, m.containerPort);
    });
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new MayflyError('INVALID_OPTION', `cannot publish ${m.hostIp}:${m.hostPort || '(any)'} → ${m.containerPort}/tcp: ${e.code === 'EADDRINUSE' ? 'the host port is already in use' : e.message}`, {
            hint: e.code === 'EADDRINUSE' ? 'choose another host port, or let mayfly pick one (-P, or host port 0)' : undefined,
          }),
        ),
      );
      server.listen({ host: m.hostIp, port: m.hostPort, exclusive: true }, () => {
        const addr = server.address();
        resolve({ ...m, hostPort: typeof addr === 'object' && addr ? addr.port : m.hostPort });
      });
    });
  }

  /** Stops listening and ends every forwarded connection: the host ports are free again at once. */
  close(): void {
    for (const s of this.servers.splice(0)) s.close();
    if (this.group !== undefined) this.pump!.closeGroup(this.group);
    this.group = undefined;
  }
}
