/**
 * The thread that carries published ports' traffic (see pump-worker.ts), seen from the sandbox's
 * main thread. Accepted TCP sockets and bound UDP sockets are handed over by descriptor, so Node's
 * event loop never touches their bytes: it only accepts, and stays free for the sandbox's requests.
 */
import { openSync, closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { distFile } from '../core/paths.js';
import * as libc from '../sys/libc.js';
import * as poll from '../sys/poll.js';
import * as sockets from '../sys/sockets.js';

export type PumpCommand =
  /** connections of a group go to the loopback of one network namespace (an open nsfs descriptor; none: the pump thread's own) */
  | { type: 'group'; group: number; netns: number | undefined }
  /**
   * `client` is a connected socket descriptor the pump now owns, to be joined to `port` on the
   * group's loopback — or, given `upstream` (an unconnected socket the pump now owns, made where
   * the caller stands: the host's namespace), to `port` on that namespace's loopback
   */
  | { type: 'tcp'; group: number; client: number; port: number; upstream?: number }
  /** a TCP socket listening on `ip`:`port` inside the group's namespace; answered on the command port with a ListenReply */
  | { type: 'listen'; group: number; ip: string; port: number; request: number }
  /** `host` is a bound UDP socket descriptor the pump now owns */
  | { type: 'udp'; group: number; host: number; port: number; idleMs: number }
  /** ends the group's connections and closes its namespace descriptor */
  | { type: 'close-group'; group: number }
  | { type: 'stop' };

/** The pump's answer to a 'listen' command: the listening descriptor (now the caller's), or why not. */
export type ListenReply = { request: number; fd: number } | { request: number; error: string };

export interface PumpWorkerData {
  commands: MessagePort;
  /** eventfd the pump polls beside its sockets: written after each command */
  wake: number;
  /** the pace of idle sweeps (default 1 s); a test makes it long to show what happens at a wake-up, not at a tick */
  tickMs?: number;
}

let shared: Pump | undefined;

/** The sandbox's one pump; a pump that failed refuses its connections, and the next caller gets a new one. */
export function sharedPump(): Pump {
  if (!shared || shared.stopped) shared = new Pump();
  return shared;
}

export class Pump {
  private readonly worker: Worker;
  private readonly commands: MessagePort;
  private readonly wake = poll.eventFd();
  private nextGroup = 1;
  private nextRequest = 1;
  private readonly pending = new Map<number, (r: ListenReply) => void>();
  /** told to stop, or the thread is gone (then the eventfd is closed, and its number may be reused) */
  stopped = false;
  private readonly stopOnExit = () => this.close();

  constructor(options: { tickMs?: number } = {}) {
    const { port1, port2 } = new MessageChannel();
    this.commands = port1;
    this.worker = new Worker(distFile('network/pump-worker.js'), {
      workerData: { commands: port2, wake: this.wake, tickMs: options.tickMs } satisfies PumpWorkerData,
      transferList: [port2],
    });
    this.worker.unref();
    this.worker.once('exit', () => {
      this.stopped = true;
      libc.closeFd(this.wake);
      for (const [request, answer] of this.pending) answer({ request, error: 'the port forwarding thread stopped' });
      this.pending.clear();
    });
    this.commands.on('message', (r: ListenReply) => {
      this.pending.get(r.request)?.(r);
      this.pending.delete(r.request);
    });
    this.commands.unref(); // only answers come this way: they must not keep the process alive
    this.worker.on('error', (e) => process.stderr.write(`mayfly: port forwarding stopped: ${e.stack ?? e.message}\n`));
    // Node joins worker threads at exit, and this one sleeps in epoll_wait: it must be told to return
    process.once('exit', this.stopOnExit);
  }

  /** A group of connections to the network namespace at `netnsPath`; undefined: the pump thread's own. */
  openGroup(netnsPath?: string): number {
    const group = this.nextGroup++;
    const netns = netnsPath === undefined ? undefined : openSync(netnsPath, 'r');
    this.send({ type: 'group', group, netns });
    return group;
  }

  /** Takes an accepted socket (paused, never read) away from Node and forwards it to `port` in the group's namespace. */
  forward(group: number, client: Socket, port: number): void {
    const fd = (client as unknown as { _handle?: { fd?: number } })._handle?.fd;
    try {
      if (fd === undefined || fd < 0 || this.stopped) return;
      // libuv would poll (and close) its descriptor: the pump gets a duplicate, Node lets go of the original
      this.send({ type: 'tcp', group, client: poll.dupCloexec(fd), port });
    } catch {
      // out of descriptors: this client is refused below, the others go on
    } finally {
      client.destroy();
    }
  }

  /**
   * Hands a client accepted in some other namespace (a container's) to a socket made here, in the
   * caller's (the host's) network namespace, connected to `port` on its loopback.
   */
  forwardToHost(group: number, client: Socket, port: number): void {
    const fd = (client as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let dup = -1;
    try {
      if (fd === undefined || fd < 0 || this.stopped) return;
      dup = poll.dupCloexec(fd);
      const upstream = sockets.tcpSocket();
      this.send({ type: 'tcp', group, client: dup, port, upstream });
    } catch {
      // out of descriptors: this client is refused, the others go on
      if (dup >= 0) libc.closeFd(dup);
    } finally {
      client.destroy();
    }
  }

  /** A TCP socket listening on `ip`:`port` inside the group's namespace (the pump thread makes it there): its descriptor, now the caller's. */
  listenIn(group: number, ip: string, port: number): Promise<number> {
    if (this.stopped) return Promise.reject(new Error('the port forwarding thread stopped'));
    const request = this.nextRequest++;
    return new Promise((resolve, reject) => {
      this.pending.set(request, (r) => ('fd' in r ? resolve(r.fd) : reject(new Error(r.error))));
      this.send({ type: 'listen', group, ip, port, request });
    });
  }

  /**
   * Relays the datagrams of a bound UDP socket (a descriptor the pump now owns) to `port` in the
   * group's namespace, with a socket per client address that is dropped after `idleMs` without traffic.
   */
  relayUdp(group: number, host: number, port: number, idleMs: number): void {
    this.send({ type: 'udp', group, host, port, idleMs });
  }

  /** Ends every connection of the group at once. */
  closeGroup(group: number): void {
    this.send({ type: 'close-group', group });
  }

  /** Ends every connection and the thread. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.off('exit', this.stopOnExit);
    this.send({ type: 'stop' });
  }

  private send(cmd: PumpCommand): void {
    if (this.stopped && cmd.type !== 'stop') {
      if (cmd.type === 'group' && cmd.netns !== undefined) closeSync(cmd.netns);
      if (cmd.type === 'tcp') {
        libc.closeFd(cmd.client);
        if (cmd.upstream !== undefined) libc.closeFd(cmd.upstream);
      }
      if (cmd.type === 'udp') libc.closeFd(cmd.host);
      return;
    }
    this.commands.postMessage(cmd);
    poll.signalEventFd(this.wake);
  }
}
