/**
 * Published ports without root and without a helper process per container: the sandbox (in the
 * host's network namespace) listens on the host port; for each connection a worker thread of the
 * sandbox makes the upstream socket inside the container's network namespace (a socket stays in the
 * namespace it was made in), and the sandbox connects it to the container port and pipes the two.
 */
import { createServer, Socket, type Server } from 'node:net';
import { Worker } from 'node:worker_threads';
import { MayflyError } from '../errors.js';
import { distFile } from '../paths.js';
import type { SocketReply, SocketRequest } from './netns-worker.js';

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

let worker: Worker | undefined;
let nextRequest = 1;
const pending = new Map<number, (reply: SocketReply) => void>();

/** A TCP socket descriptor made inside the network namespace `netns` (see netns-worker.ts). */
function socketIn(netns: string): Promise<number> {
  if (!worker) {
    worker = new Worker(distFile('network/netns-worker.js'));
    worker.unref();
    worker.on('message', (r: SocketReply) => {
      pending.get(r.id)?.(r);
      pending.delete(r.id);
    });
  }
  const id = nextRequest++;
  return new Promise((resolve, reject) => {
    pending.set(id, (r) => ('fd' in r ? resolve(r.fd) : reject(new Error(r.error))));
    worker!.postMessage({ id, netns } satisfies SocketRequest);
  });
}

/** Connects to `port` on the loopback of the network namespace `netns` (/proc/PID/ns/net). */
export async function connectInNamespace(netns: string, port: number): Promise<Socket> {
  const fd = await socketIn(netns);
  const socket = new Socket({ fd, allowHalfOpen: true, readable: true, writable: true });
  socket.on('error', (e) => process.env.MAYFLY_DEBUG && process.stderr.write(`mayfly: forwarding to port ${port}: ${e.message}\n`)); // the client sees a reset (splice)
  return socket.connect({ host: '127.0.0.1', port });
}

/** Pipes two sockets both ways with backpressure; half-closes and resets pass through. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const reset = (other: Socket) => () => {
    if (!other.destroyed) other.resetAndDestroy?.() ?? other.destroy();
  };
  a.on('error', reset(b));
  b.on('error', reset(a));
  a.on('close', (hadError) => hadError || b.destroyed || b.end());
  b.on('close', (hadError) => hadError || a.destroyed || a.end());
}

export class PortForwarder {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private netns: string | undefined;

  /** Opens the container's network namespace (by its PID 1) and starts a listener per mapping. */
  async start(pid1: number, mappings: PortMapping[]): Promise<PublishedPort[]> {
    if (!mappings.length) return [];
    this.netns = `/proc/${pid1}/ns/net`;
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
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
      this.sockets.add(client);
      client.once('close', () => this.sockets.delete(client));
      connectInNamespace(this.netns!, m.containerPort).then(
        (upstream) => {
          if (client.destroyed || !this.netns) return upstream.destroy();
          this.sockets.add(upstream);
          upstream.once('close', () => this.sockets.delete(upstream));
          // a refused upstream (nothing listens yet) resets the client, as a closed port would
          splice(client, upstream);
          client.resume();
        },
        () => client.destroy(),
      );
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
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.netns = undefined;
  }
}
