/**
 * Single host ports made reachable from one container (Testcontainers' exposeHostPorts): inside the
 * container's network namespace a listener per port on the host alias address (on its loopback
 * device, so nothing else of the host is routed); each accepted client is joined by the pump thread
 * to the same port on the host's loopback. Only the ports asked for — never the whole loopback.
 */
import { createServer, type Server } from 'node:net';
import { MayflyError } from '../core/errors.js';
import * as libc from '../sys/libc.js';
import { sharedPump, type Pump } from './pump.js';

export class HostPorts {
  private readonly servers: Server[] = [];
  private pump: Pump | undefined;
  private group: number | undefined;

  /** Listens on `ip`:port inside the namespace at `netns` for each port, forwarding to 127.0.0.1:port of the host. */
  async start(netns: string, ip: string, ports: readonly number[]): Promise<void> {
    if (!ports.length) return;
    this.pump = sharedPump();
    this.group = this.pump.openGroup(netns);
    try {
      for (const port of new Set(ports)) await this.listen(ip, port);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private async listen(ip: string, port: number): Promise<void> {
    let fd: number;
    try {
      fd = await this.pump!.listenIn(this.group!, ip, port);
    } catch (e) {
      throw new MayflyError('NETWORK_FAILED', `cannot expose host port ${port} to the container as ${ip}:${port}: ${(e as Error).message}`);
    }
    const server = createServer({ pauseOnConnect: true }, (client) => {
      if (this.group === undefined) return client.destroy();
      this.pump!.forwardToHost(this.group, client, port);
    });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => {
        libc.closeFd(fd);
        reject(new MayflyError('NETWORK_FAILED', `cannot expose host port ${port}: ${e.message}`));
      });
      server.listen({ fd }, () => resolve());
    });
  }

  /** Stops listening (the listeners close with their descriptors) and ends every forwarded connection. */
  close(): void {
    for (const s of this.servers.splice(0)) s.close();
    if (this.group !== undefined) this.pump!.closeGroup(this.group);
    this.group = undefined;
  }
}
