/**
 * `ports` and `expose` as compose writes them: `"8080:80"`, `"127.0.0.1::80"`, `"[::1]:8080:80/udp"`,
 * ranges (`"3000-3002:3000-3002"`, `"9090-9091"`), bare numbers, and the long form
 * `{target, published, host_ip, protocol}`.
 */
import { MayflyError } from '../core/errors.js';
import type { ContainerOptions } from '../engine/runtime.js';
import type { ComposeService } from './compose-schema.js';

type Port = NonNullable<ContainerOptions['ports']>[number];

function range(text: string, what: string, where: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const lo = Number(m?.[1]);
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw new MayflyError('INVALID_OPTION', `${where}: ${what} "${text}" is not a port or a range like 8000-8005`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

function shortPort(text: string, where: string): Port[] {
  const slash = text.lastIndexOf('/');
  const protocol = slash >= 0 ? text.slice(slash + 1) : 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp') throw new MayflyError('INVALID_OPTION', `${where}: protocol "${protocol}" (tcp or udp)`);
  let spec = slash >= 0 ? text.slice(0, slash) : text;
  let hostIp: string | undefined;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  if (v6) {
    hostIp = v6[1];
    spec = v6[2]!;
  }
  const parts = spec.split(':');
  if (!v6 && parts.length === 3) hostIp = parts.shift();
  if (parts.length > 2 || (v6 && parts.length !== 2)) throw new MayflyError('INVALID_OPTION', `${where}: expected [IP:][HOST:]CONTAINER[/PROTOCOL]`);
  const container = range(parts.at(-1)!, 'container port', where);
  const host = parts.length === 2 && parts[0] ? range(parts[0], 'host port', where) : undefined;
  if (host && host.length !== container.length && !(host.length > 1 && container.length === 1)) {
    throw new MayflyError('INVALID_OPTION', `${where}: the host range and the container range differ in length`);
  }
  return container.map((containerPort, i) => ({
    containerPort,
    // a host range for one container port: the first port of it
    hostPort: host ? host[Math.min(i, host.length - 1)]! : 0,
    protocol,
    ...(hostIp ? { hostIp } : {}),
  }));
}

export function composePorts(service: string, def: ComposeService): Port[] {
  return (def.ports ?? []).flatMap((p, i) => {
    const where = `service ${service}: ports[${i}]`;
    if (typeof p === 'number') return [{ containerPort: range(String(p), 'container port', where)[0]!, hostPort: 0 }];
    if (typeof p === 'string') return shortPort(p, where);
    const target = range(String(p.target), 'target', where);
    const published = p.published === undefined || p.published === '' ? undefined : range(String(p.published), 'published', where);
    return target.map((containerPort, j) => ({
      containerPort,
      hostPort: published ? published[Math.min(j, published.length - 1)]! : 0,
      protocol: p.protocol ?? 'tcp',
      ...(p.host_ip ? { hostIp: p.host_ip } : {}),
    }));
  });
}

/** `expose`: ports the service declares (ranges and `/tcp` allowed); reachable on its networks, not published. */
export function composeExpose(service: string, def: ComposeService): number[] {
  return (def.expose ?? []).flatMap((e, i) => range(String(e).replace(/\/(tcp|udp)$/, ''), 'port', `service ${service}: expose[${i}]`));
}
