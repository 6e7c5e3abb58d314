/**
 * Which TCP ports a network namespace listens on, from /proc/PID/net/tcp and tcp6 of a process in
 * it: the wait strategies ask the container itself, not the forwarder (which accepts connections
 * on the host port long before the service inside is up).
 */
import { readTextIfPresent } from '../core/files.js';

const LISTEN = '0A';

/** Ports in state LISTEN in the text of a /proc/net/tcp or tcp6 table. */
export function parseListeningPorts(table: string): number[] {
  const ports = new Set<number>();
  for (const line of table.split('\n').slice(1)) {
    // sl local_address rem_address st ...; local_address is HEXADDR:HEXPORT
    const [, local, , state] = line.trim().split(/\s+/);
    if (state !== LISTEN || !local) continue;
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (port > 0) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}

export function listeningPorts(pid: number): number[] {
  const tables = ['tcp', 'tcp6'].map((t) => readTextIfPresent(`/proc/${pid}/net/${t}`) ?? '');
  return [...new Set(tables.flatMap(parseListeningPorts))].sort((a, b) => a - b);
}
