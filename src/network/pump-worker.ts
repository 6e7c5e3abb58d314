/**
 * The pump thread: one blocking epoll loop that connects forwarded clients to their containers and
 * moves their bytes (forwarded-connection.ts for TCP, udp-relay.ts for UDP). It blocks in epoll_wait,
 * so it runs no Node event loop: commands arrive on a MessagePort, read synchronously whenever the
 * wake eventfd fires.
 *
 * Upstream sockets are made inside the container's network namespace (a socket stays in the
 * namespace it was made in). A rootless process can enter a namespace its user namespace owns but
 * never go back to the host's, so this thread parks in a namespace of its own between connections:
 * otherwise it would keep the last container's network namespace alive after that container is gone.
 */
import { openSync } from 'node:fs';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as libc from '../sys/libc.js';
import * as namespaces from '../sys/namespaces.js';
import * as poll from '../sys/poll.js';
import * as sockets from '../sys/sockets.js';
import { Poller } from './poller.js';
import type { ListenReply, PumpCommand, PumpWorkerData } from './pump.js';
import { ForwardedConnection } from './forwarded-connection.js';
import { UdpRelay } from './udp-relay.js';

/** the wake-up is how the thread hears 'stop'; the timeout bounds a process exit that never sent it, and paces the idle sweeps */
const DEFAULT_TICK_MS = 1000;

interface Group {
  netns: number | undefined;
  tcp: Set<ForwardedConnection>;
  udp: Set<UdpRelay>;
}

const { commands, wake, tickMs = DEFAULT_TICK_MS } = workerData as PumpWorkerData;
const poller = new Poller();
const groups = new Map<number, Group>();
let parked: number | undefined;
let woken = false;
poller.watch(wake, poll.EPOLL.IN, { onEvents: () => (woken = true), fail: () => {} });

/** A socket made by `make` in the network namespace `netns` (an open nsfs descriptor; none: this thread's own). */
function socketIn(netns: number | undefined, make: () => number): number {
  if (netns === undefined) return make();
  parked ??= parkingNamespace();
  namespaces.setns(netns, namespaces.CLONE.NEWNET);
  try {
    return make();
  } finally {
    if (parked >= 0) namespaces.setns(parked, namespaces.CLONE.NEWNET);
  }
}

/** A fresh, empty network namespace for this thread alone, to return to after each socket (-1: cannot make one). */
function parkingNamespace(): number {
  try {
    namespaces.unshare(namespaces.CLONE.NEWNET);
    return openSync('/proc/thread-self/ns/net', 'r');
  } catch {
    return -1;
  }
}

function forwardTcp(cmd: Extract<PumpCommand, { type: 'tcp' }>): void {
  const group = groups.get(cmd.group);
  let upstream = cmd.upstream ?? -1;
  try {
    if (!group) throw new Error('the container is gone');
    if (upstream < 0) upstream = socketIn(group.netns, sockets.tcpSocket);
  } catch (e) {
    debug(`forwarding to port ${cmd.port}: ${(e as Error).message}`);
    sockets.setResetOnClose(cmd.client);
    libc.closeFd(cmd.client);
    if (upstream >= 0) libc.closeFd(upstream);
    return;
  }
  const conn = new ForwardedConnection(poller, cmd.client, upstream, sockets.connectTo(upstream, '127.0.0.1', cmd.port), (c) => group.tcp.delete(c));
  if (!conn.closed) group.tcp.add(conn);
}

/** A listening socket made inside the group's namespace, answered to the main thread (which accepts on it). */
function listenIn(cmd: Extract<PumpCommand, { type: 'listen' }>): void {
  const group = groups.get(cmd.group);
  try {
    if (!group) throw new Error('the container is gone');
    commands.postMessage({ request: cmd.request, fd: socketIn(group.netns, () => sockets.tcpListen(cmd.ip, cmd.port)) } satisfies ListenReply);
  } catch (e) {
    commands.postMessage({ request: cmd.request, error: (e as Error).message } satisfies ListenReply);
  }
}

function relayUdp(cmd: Extract<PumpCommand, { type: 'udp' }>): void {
  const group = groups.get(cmd.group);
  if (!group) return libc.closeFd(cmd.host);
  group.udp.add(new UdpRelay(poller, cmd.host, cmd.port, () => socketIn(group.netns, sockets.udpSocket), cmd.idleMs));
}

function closeGroup(id: number): void {
  const group = groups.get(id);
  if (!group) return;
  groups.delete(id);
  for (const conn of group.tcp) conn.close(false);
  for (const relay of group.udp) relay.close();
  if (group.netns !== undefined) libc.closeFd(group.netns);
}

/** Applies the commands sent since the last wake-up; false once told to stop. */
function runCommands(): boolean {
  poll.drainEventFd(wake);
  for (let m = receiveMessageOnPort(commands); m; m = receiveMessageOnPort(commands)) {
    const cmd = m.message as PumpCommand;
    try {
      if (cmd.type === 'group') groups.set(cmd.group, { netns: cmd.netns, tcp: new Set(), udp: new Set() });
      else if (cmd.type === 'tcp') forwardTcp(cmd);
      else if (cmd.type === 'udp') relayUdp(cmd);
      else if (cmd.type === 'listen') listenIn(cmd);
      else if (cmd.type === 'close-group') closeGroup(cmd.group);
      else if (cmd.type === 'stop') {
        for (const id of [...groups.keys()]) closeGroup(id);
        return false;
      }
    } catch (e) {
      debug(`port forwarding: ${(e as Error).message}`);
    }
  }
  return true;
}

function debug(message: string): void {
  if (process.env.MAYFLY_DEBUG) process.stderr.write(`mayfly: ${message}\n`);
}

let lastSweep = Date.now();
for (let running = true; running; ) {
  poller.poll(tickMs);
  const now = Date.now();
  if (now - lastSweep >= tickMs) {
    lastSweep = now;
    for (const g of groups.values()) {
      for (const relay of g.udp) relay.sweep(now);
      for (const conn of g.tcp) conn.releaseIdleBuffers();
    }
    poller.closeReleased();
  }
  // after the batch: commands make descriptors, and the batch's closes are done by now
  if (woken) {
    woken = false;
    running = runCommands();
    poller.closeReleased(); // a closed group's ports and connections end now, not a tick later
  }
}
poller.close();
if (parked !== undefined && parked >= 0) libc.closeFd(parked);
commands.close();
