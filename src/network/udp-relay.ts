/**
 * One published UDP port inside the pump thread. UDP has no connections, so the relay keeps one per
 * client address: an upstream socket made in the container's network namespace and connected to
 * the container port. The server inside then sees each client as a peer of its own, and its answers
 * come back on that client's socket. A client silent for `idleMs` loses its socket, as with
 * Docker's proxy; answers count as activity, so a slow-answering server keeps its client.
 */
import { constants } from 'node:os';
import * as libc from '../sys/libc.js';
import * as poll from '../sys/poll.js';
import * as sockets from '../sys/sockets.js';
import type { Poller, PollOwner } from './poller.js';

const { EAGAIN, ECONNREFUSED, EINTR } = constants.errno;

/** beyond this many clients, the one heard from least recently loses its socket: descriptors are finite */
const MAX_CLIENTS = 1024;
/** datagrams handled per readiness event and socket, so one busy client cannot starve the others (level-triggered: the rest waits for the next round) */
const BATCH = 64;

// one thread, one datagram at a time: shared scratch space
const datagram = Buffer.alloc(65535);
const from = Buffer.alloc(128);
const fromLen = new Uint32Array(1);

interface Client {
  upstream: number;
  /** the client's sockaddr, as received */
  address: Buffer;
  lastActive: number;
}

export class UdpRelay implements PollOwner {
  /** by the client's sockaddr bytes, least recently heard from first */
  private readonly clients = new Map<string, Client>();
  private readonly byUpstream = new Map<number, Client>();
  closed = false;

  /** `host` is the bound host socket (non-blocking), now owned by the relay; `socketInContainer` makes a UDP socket in the container's namespace. */
  constructor(
    private readonly poller: Poller,
    private readonly host: number,
    private readonly port: number,
    private readonly socketInContainer: () => number,
    private readonly idleMs: number,
  ) {
    poller.watch(host, poll.EPOLL.IN, this);
  }

  onEvents(fd: number): void {
    if (this.closed) return;
    if (fd === this.host) this.fromClients();
    else this.fromContainer(fd);
  }

  fail(error: unknown): void {
    // one datagram went wrong; the port stays published for the rest
    if (process.env.MAYFLY_DEBUG) process.stderr.write(`mayfly: relaying udp port ${this.port}: ${(error as Error).message}\n`);
  }

  /** Forgets clients idle for longer than `idleMs`. */
  sweep(now: number): void {
    for (const [key, c] of this.clients) if (now - c.lastActive > this.idleMs) this.forget(key, c);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [key, c] of this.clients) this.forget(key, c);
    this.poller.release(this.host);
  }

  private fromClients(): void {
    const now = Date.now();
    for (let i = 0; i < BATCH; i++) {
      const n = sockets.recvFrom(this.host, datagram, from, fromLen);
      if (n === -EINTR) continue;
      if (n < 0) return; // EAGAIN: all read
      const key = from.toString('latin1', 0, fromLen[0]);
      let c = this.clients.get(key);
      if (c) this.clients.delete(key); // re-inserted below: most recently heard last
      else c = this.connect(Buffer.from(from.subarray(0, fromLen[0])));
      if (!c) continue;
      this.clients.set(key, c);
      c.lastActive = now;
      sockets.sendTo(c.upstream, datagram, n, null); // a datagram the kernel cannot take is lost, as UDP allows
    }
  }

  private fromContainer(fd: number): void {
    const c = this.byUpstream.get(fd);
    if (!c) return;
    for (let i = 0; i < BATCH; i++) {
      const n = sockets.recvFrom(fd, datagram, from, fromLen);
      // ECONNREFUSED: an earlier datagram found no listener inside (ICMP port unreachable); later ones may
      if (n === -EINTR || n === -ECONNREFUSED) continue;
      if (n < 0) return;
      c.lastActive = Date.now();
      sockets.sendTo(this.host, datagram, n, c.address);
    }
  }

  private connect(address: Buffer): Client | undefined {
    if (this.clients.size >= MAX_CLIENTS) {
      const [key, oldest] = this.clients.entries().next().value!;
      this.forget(key, oldest);
    }
    let upstream: number;
    try {
      upstream = this.socketInContainer();
    } catch {
      return undefined; // the container is gone, or no descriptors left: this datagram is lost
    }
    // connected: the kernel filters out datagrams from anyone but the server, and send needs no address
    const r = sockets.connectTo(upstream, '127.0.0.1', this.port);
    if (r < 0 && r !== -EAGAIN) {
      libc.closeFd(upstream);
      return undefined;
    }
    const c: Client = { upstream, address, lastActive: 0 };
    this.poller.watch(upstream, poll.EPOLL.IN, this);
    this.byUpstream.set(upstream, c);
    return c;
  }

  private forget(key: string, c: Client): void {
    this.clients.delete(key);
    this.byUpstream.delete(c.upstream);
    this.poller.release(c.upstream);
  }
}
