/**
 * `mayfly serve` and `mayfly docker-env`: the Docker Engine API the keeper serves (src/api), for
 * clients that speak Docker — Testcontainers in any language, the docker CLI, docker-compose.
 * `serve` stays in the foreground (the keeper with it) until interrupted; `docker-env` starts the
 * keeper if needed and prints the line a shell evaluates.
 */
import { existsSync } from 'node:fs';
import { connect, createServer, isIPv4, type Socket } from 'node:net';
import { MayflyError } from '../core/errors.js';
import { keeper } from '../keeper/client.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, text } from './command-line/values.js';
import { dockerEnvLines, TC_HOST_OVERRIDE } from './docker-env-lines.js';

async function apiSocket(): Promise<string> {
  const k = await keeper();
  return (await k.request<{ socketPath: string }>({ op: 'api' })).socketPath;
}

/** `eval "$(mayfly docker-env)"` */
export async function dockerEnvCommand({ flags }: ParsedCommand): Promise<number> {
  const host = `unix://${await apiSocket()}`;
  process.stdout.write(dockerEnvLines(host, { inContainer: existsSync('/.dockerenv'), hostOverride: process.env[TC_HOST_OVERRIDE] }, bool(flags, 'unset')));
  return 0;
}

/** `--tcp 127.0.0.1:2375`: loopback only — any other address would open the API (root in containers) to the network. */
function loopbackAddress(spec: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(spec);
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new MayflyError('INVALID_OPTION', `--tcp ${spec}: expected HOST:PORT, e.g. 127.0.0.1:2375`);
  if (!(host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.')))) {
    throw new MayflyError('INVALID_OPTION', `--tcp ${spec}: only a loopback address is served (127.0.0.1, ::1, localhost)`, { hint: 'the Unix socket is the private way: every local user can reach a TCP port' });
  }
  return { host, port };
}

/** The API's Unix socket relayed on a loopback TCP port while `serve` runs; `close` ends the listener and its connections. */
function relayTcp(socketPath: string, spec: string): Promise<{ url: string; close(): void }> {
  const { host, port } = loopbackAddress(spec);
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    for (const s of [client, upstream]) {
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  const close = () => {
    server.close();
    for (const s of open) s.destroy();
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address() as { address: string; port: number };
      resolve({ url: `tcp://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`, close });
    });
  });
}

/** `mayfly serve`: prints DOCKER_HOST and holds the keeper until SIGINT or SIGTERM. */
export async function serveCommand({ flags }: ParsedCommand): Promise<number> {
  // listened for first: a signal that comes while the keeper starts must still end us
  const interrupted = new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => resolve());
  });
  const path = await apiSocket();
  const tcp = text(flags, 'tcp');
  const relay = tcp ? await relayTcp(path, tcp) : undefined;
  try {
    process.stdout.write(`DOCKER_HOST=${relay?.url ?? `unix://${path}`}\n`);
    if (tcp) process.stderr.write('mayfly: the TCP port is reachable by every user of this machine; the Unix socket is private to you\n');
    if (!tcp && existsSync('/.dockerenv') && process.env[TC_HOST_OVERRIDE] === undefined) {
      process.stderr.write(`mayfly: this machine has /.dockerenv: Testcontainers needs ${TC_HOST_OVERRIDE}=localhost beside DOCKER_HOST (mayfly docker-env prints both)\n`);
    }
    process.stderr.write('mayfly: serving the Docker Engine API; Ctrl-C ends this (the containers stay with the keeper)\n');
    const k = await keeper();
    // the open connection keeps the keeper serving; its end (the keeper went away) ends us too
    await k.hold(Promise.race([interrupted, k.closed]));
  } finally {
    // a listening relay would keep this process alive after the keeper is gone
    relay?.close();
  }
  return 0;
}
