/**
 * The thread that carries published ports' traffic (see pump-worker.ts), seen from the sandbox's
 * main thread. Accepted TCP sockets and bound UDP sockets are handed over by descriptor, so Node's
 * event loop never touches their bytes: it only accepts, and stays free for the sandbox's requests.
 */
import { openSync, closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { distFile } from '../paths.js';
import * as sys from '../runtime/syscalls.js';

export type PumpCommand =
  /** connections of a group go to the loopback of one network namespace (an open nsfs descriptor; none: the pump thread's own) */
  | { type: 'group'; group: number; netns: number | undefined }
  /** `client` is a connected socket descriptor the pump now owns */
  | { type: 'tcp'; group: number; client: number; port: number }
  /** `host` is a bound UDP socket descriptor the pump now owns */
  | { type: 'udp'; group: number; host: number; port: number; idleMs: number }
  /** ends the group's connections and closes its namespace descriptor */
  | { type: 'close-group'; group: number }
  | { type: 'stop' };

export interface PumpWorkerData {
  commands: MessagePort;
  /** eventfd the pump polls beside its sockets: written after each command */
  wake: number;
}

export class Pump {
  private readonly worker: Worker;
  private readonly commands: MessagePort;
  private readonly wake = sys.eventFd();
  private nextGroup = 1;
  /** told to stop, or the thread is gone (then the eventfd is closed, and its number may be reused) */
  stopped = false;
  private readonly stopOnExit = () => this.close();

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.commands = port1;
    this.worker = new Worker(distFile('network/pump-worker.js'), {
      workerData: { commands: port2, wake: this.wake } satisfies PumpWorkerData,
      transferList: [port2],
    });
    this.worker.unref();
    this.worker.once('exit', () => {
      this.stopped = true;
      sys.closeFd(this.wake);
    });
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
      this.send({ type: 'tcp', group, client: sys.dupCloexec(fd), port });
    } catch {
      // out of descriptors: this client is refused below, the others go on
    } finally {
      client.destroy();
    }
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
      if (cmd.type === 'tcp') sys.closeFd(cmd.client);
      if (cmd.type === 'udp') sys.closeFd(cmd.host);
      return;
    }
    this.commands.postMessage(cmd);
    sys.signalEventFd(this.wake);
  }
}
