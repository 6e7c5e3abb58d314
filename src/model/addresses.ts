/**
 * Where a container is reached — its published host ports and its addresses on networks — looked
 * up the same way for a local container and for one the keeper holds.
 */
import { MayflyError } from '../core/errors.js';
import type { PublishedPort } from './container-types.js';
import type { Attachment } from './container-types.js';

/** The host address published ports listen on. */
export function hostOf(published: PublishedPort[]): string {
  return published[0]?.hostIp ?? '127.0.0.1';
}

/** The host port a container port is published on (`getMappedPort`). */
export function hostPortOf(name: string, published: PublishedPort[], containerPort: number, protocol: 'tcp' | 'udp' = 'tcp'): number {
  const p = published.find((x) => x.containerPort === containerPort && x.protocol === protocol);
  if (!p) {
    throw new MayflyError('INVALID_OPTION', `container port ${containerPort} of ${name} is not published`, {
      hint: published.length ? `published: ${published.map((x) => x.containerPort).join(', ')}` : 'publish it with ports: [{ containerPort }] or publishAll',
    });
  }
  return p.hostPort;
}

/** `http://host:port/path` for a published TCP port. */
export function urlOf(name: string, published: PublishedPort[], containerPort: number, path = '/'): string {
  const p = published.find((x) => x.containerPort === containerPort && x.protocol === 'tcp');
  const host = p && p.hostIp.includes(':') ? `[${p.hostIp}]` : (p?.hostIp ?? hostOf(published));
  return `http://${host}:${hostPortOf(name, published, containerPort)}${path.startsWith('/') ? path : `/${path}`}`;
}

/** The container's address on a network (its first one by default), as its peers reach it. */
export function ipOf(name: string, attachments: Attachment[], network?: string): string {
  const a = network ? attachments.find((x) => x.network === network) : attachments[0];
  if (!a) throw new MayflyError('INVALID_OPTION', `container ${name} is not attached to ${network ? `network ${network}` : 'a user-defined network'} (or is not running)`);
  return a.ip;
}

/** Docker's way of showing published ports: `127.0.0.1:41234->80/tcp, …` */
export function formatPorts(published: PublishedPort[]): string {
  return published.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}
