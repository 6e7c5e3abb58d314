/**
 * The pump thread: one blocking epoll loop that connects forwarded clients to their containers and
 * splices their bytes (spliced-connection.ts). It blocks in epoll_wait, so it does not run a Node
 * event loop: commands arrive on a MessagePort read synchronously whenever the wake eventfd fires.
 *
 * Upstream sockets are made inside the container's network namespace (a socket stays in the
 * namespace it was made in). A rootless process can enter a namespace its user namespace owns but
 * never go back to the host's, so this thread parks in a namespace of its own between connections:
 * otherwise it would keep the last container's network namespace alive after that container is gone.
 */
import { openSync } from 'node:fs';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as sys from '../runtime/syscalls.js';
import type { PumpCommand, PumpWorkerData } from './pump.js';
import { SplicedConnection } from './spliced-connection.js';

/** Per direction. Larger pipes mean fewer splices per megabyte; the kernel caps the total an unprivileged user may hold (fs.pipe-user-pages-soft), past which it falls back to its default. */
const PIPE_SIZE = Number(process.env.PIPE_SIZE ?? 256 * 1024);

const { commands, wake } = workerData as PumpWorkerData;
const epoll = sys.epollCreate();
sys.epollAdd(epoll, wake, sys.EPOLL.IN);

interface Group {
  netns: number | undefined;
  connections: Set<SplicedConnection>;
}

const connections = new Map<number, { conn: SplicedConnection; group: Group }>(); // by either socket
const groups = new Map<number, Group>();
let parked: number | undefined;

/** A TCP socket made in the network namespace `netns` (an open nsfs descriptor). */
function socketIn(netns: number | undefined): number {
  if (netns === undefined) return sys.tcpSocket();
  parked ??= parkingNamespace();
  sys.setns(netns, sys.CLONE.NEWNET);
  try {
    return sys.tcpSocket();
  } finally {
    if (parked >= 0) sys.setns(parked, sys.CLONE.NEWNET);
  }
}

/** A fresh, empty network namespace for this thread alone, to return to after each connection (-1: cannot make one). */
function parkingNamespace(): number {
  try {
    sys.unshare(sys.CLONE.NEWNET);
    return openSync('/proc/thread-self/ns/net', 'r');
  } catch {
    return -1;
  }
}

function forward(cmd: Extract<PumpCommand, { type: 'forward' }>): void {
  const group = groups.get(cmd.group);
  let upstream = -1;
  try {
    if (!group) throw new Error('the container is gone');
    upstream = socketIn(group.netns);
  } catch (e) {
    debug(`forwarding to port ${cmd.port}: ${(e as Error).message}`);
    sys.setResetOnClose(cmd.client);
    sys.closeFd(cmd.client);
    return;
  }
  let conn: SplicedConnection;
  try {
    conn = new SplicedConnection(epoll, cmd.client, upstream, sys.connectIPv4(upstream, '127.0.0.1', cmd.port), PIPE_SIZE);
  } catch (e) {
    debug(`forwarding to port ${cmd.port}: ${(e as Error).message}`);
    for (const fd of [cmd.client, upstream]) sys.epollDelete(epoll, fd), sys.closeFd(fd);
    return;
  }
  if (conn.closed) return;
  connections.set(conn.client, { conn, group: group! });
  connections.set(conn.upstream, { conn, group: group! });
  group!.connections.add(conn);
}

function forget(conn: SplicedConnection, group: Group): void {
  connections.delete(conn.client);
  connections.delete(conn.upstream);
  group.connections.delete(conn);
}

/** Applies the commands sent since the last wake-up; false once told to stop. */
function runCommands(): boolean {
  sys.drainEventFd(wake);
  for (let m = receiveMessageOnPort(commands); m; m = receiveMessageOnPort(commands)) {
    const cmd = m.message as PumpCommand;
    if (cmd.type === 'group') groups.set(cmd.group, { netns: cmd.netns, connections: new Set() });
    else if (cmd.type === 'forward') forward(cmd);
    else if (cmd.type === 'close-group') closeGroup(cmd.group);
    else if (cmd.type === 'stop') {
      for (const id of groups.keys()) closeGroup(id);
      return false;
    }
  }
  return true;
}

function closeGroup(id: number): void {
  const group = groups.get(id);
  if (!group) return;
  groups.delete(id);
  for (const conn of group.connections) {
    conn.close(false);
    forget(conn, group);
  }
  if (group.netns !== undefined) sys.closeFd(group.netns);
}

function debug(message: string): void {
  if (process.env.MAYFLY_DEBUG) process.stderr.write(`mayfly: ${message}\n`);
}

const MAX_EVENTS = 128;
const events = Buffer.alloc(MAX_EVENTS * sys.EPOLL_EVENT_SIZE);

for (let running = true; running; ) {
  const n = sys.epollWait(epoll, events, -1);
  let woken = false;
  for (let i = 0; i < n; i++) {
    const { fd, events: bits } = sys.epollEventAt(events, i);
    if (fd === wake) {
      woken = true;
      continue;
    }
    const entry = connections.get(fd);
    if (!entry) continue;
    try {
      entry.conn.handle(fd, bits);
    } catch (e) {
      debug(`forwarding: ${(e as Error).message}`);
      entry.conn.close(true);
    }
    if (entry.conn.closed) forget(entry.conn, entry.group);
  }
  // after the batch, so no descriptor closed above is reused for a new connection while stale events for it are pending
  if (woken) running = runCommands();
}
sys.closeFd(epoll);
if (parked !== undefined && parked >= 0) sys.closeFd(parked);
commands.close();
