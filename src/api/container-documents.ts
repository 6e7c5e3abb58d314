/**
 * The containers the keeper holds as the API shows them: found by ID, name or prefix (404 as
 * Docker says it), their inspect document (the same as `mayfly inspect`'s, with the health state
 * and live ports), and their entry in `GET /containers/json`.
 */
import { join } from 'node:path';
import { isMayflyError } from '../core/errors.js';
import type { Container } from '../engine/runtime.js';
import { containerDocument } from '../engine/docker-inspect.js';
import { readState, type ContainerState } from '../model/container-state.js';
import type { PublishedPort } from '../model/container-types.js';
import { layoutOf } from '../model/layout.js';
import type { DockerHealthcheck } from './container-create.js';
import type { HealthMonitor } from './health.js';
import { apiError, shared, type ApiContext } from './route.js';

/** What the API keeps of a container beyond its record: its health check, ports it answers itself (Ryuk). */
export interface ApiExtras {
  healthcheck?: DockerHealthcheck;
  health?: HealthMonitor;
  /** published ports mayfly serves itself for this container (the Ryuk stand-in's 8080) */
  ports?: PublishedPort[];
}

export const extrasOf = (ctx: ApiContext, id: string): ApiExtras => {
  const all = shared(ctx, 'container-extras', () => new Map<string, ApiExtras>());
  let e = all.get(id);
  if (!e) all.set(id, (e = {}));
  return e;
};

export const forgetExtras = (ctx: ApiContext, id: string) => {
  const e = shared(ctx, 'container-extras', () => new Map<string, ApiExtras>()).get(id);
  e?.health?.stop();
  shared(ctx, 'container-extras', () => new Map<string, ApiExtras>()).delete(id);
};

export function findContainer(ctx: ApiContext, ref: string): Container {
  try {
    return ctx.holdings.get(ref);
  } catch (e) {
    if (isMayflyError(e, 'CONTAINER_NOT_FOUND')) throw apiError(404, `No such container: ${ref}`);
    throw e;
  }
}

export const isLive = (c: Container) => c.status === 'running' || c.status === 'paused';

/** The record on disk with what is live now (ports, status), so that a just-started container reads right. */
function currentState(ctx: ApiContext, c: Container): ContainerState {
  const s = readState(c.dir) ?? { id: c.id, name: c.name, sandboxId: ctx.runtime.sandbox.id, createdAt: new Date().toISOString(), status: 'created' as const, command: c.spec.command };
  const status = c.status === 'removed' ? 'exited' : c.status;
  const extra = extrasOf(ctx, c.id).ports ?? [];
  return {
    ...s,
    status,
    spec: s.spec ?? c.spec,
    ...(isLive(c) ? { ports: [...c.ports(), ...extra], attachments: c.networks() } : {}),
    ...(c.exitStatus && status === 'exited' ? { exitCode: c.exitStatus.exitCode, oomKilled: c.exitStatus.oomKilled } : {}),
  };
}

export function inspectContainer(ctx: ApiContext, c: Container): Record<string, unknown> {
  const s = currentState(ctx, c);
  const layout = layoutOf(ctx.home);
  const doc = containerDocument(s, c.dir, (v) => join(layout.volumes, v, '_data'));
  const extras = extrasOf(ctx, c.id);
  const state = doc.State as Record<string, unknown>;
  if (extras.health && extras.healthcheck?.Test) state.Health = { ...extras.health.state, Log: [...extras.health.state.Log] };
  const config = doc.Config as Record<string, unknown>;
  if (extras.healthcheck) config.Healthcheck = extras.healthcheck;
  // extra ports answered by mayfly (not in the spec's exposed list) still show as bindings
  if (isLive(c) && extras.ports?.length) {
    const ports = (doc.NetworkSettings as { Ports: Record<string, unknown> }).Ports;
    for (const p of extras.ports) ports[`${p.containerPort}/${p.protocol}`] = [{ HostIp: p.hostIp, HostPort: String(p.hostPort) }];
  }
  return doc;
}

function ago(iso: string | undefined): string {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${Math.floor(s)} seconds`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours`;
  return `${Math.floor(s / 86400)} days`;
}

/** An entry of `GET /containers/json`. */
export function listEntry(ctx: ApiContext, c: Container): Record<string, unknown> {
  const s = currentState(ctx, c);
  const health = extrasOf(ctx, c.id).health?.state.Status;
  const status =
    s.status === 'running'
      ? `Up ${ago(s.startedAt)}${health ? ` (${health === 'starting' ? 'health: starting' : health})` : ''}`
      : s.status === 'paused'
        ? `Up ${ago(s.startedAt)} (Paused)`
        : s.status === 'exited'
          ? `Exited (${s.exitCode ?? 0}) ${ago(s.finishedAt)} ago`
          : 'Created';
  const spec = s.spec ?? c.spec;
  const networks: Record<string, unknown> = {};
  for (const a of s.attachments ?? []) networks[a.network] = { IPAddress: a.ip, Gateway: a.gateway, Aliases: a.aliases, NetworkID: '', EndpointID: '', MacAddress: '' };
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: spec.labels['mayfly.image'] ?? '',
    ImageID: s.imageId ?? spec.labels['mayfly.image.id'] ?? '',
    Command: s.command.join(' '),
    Created: Math.floor(Date.parse(s.createdAt) / 1000) || 0,
    Ports: (s.ports ?? []).map((p) => ({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol })),
    Labels: Object.fromEntries(Object.entries(spec.labels).filter(([k]) => !k.startsWith('mayfly.'))),
    State: s.status,
    Status: status,
    HostConfig: { NetworkMode: spec.network },
    NetworkSettings: { Networks: networks },
    Mounts: [
      ...spec.binds.map((b) => ({ Type: 'bind', Source: b.source, Destination: b.target, Mode: b.readonly ? 'ro' : '', RW: !b.readonly, Propagation: 'rprivate' })),
      ...spec.volumes.map((v) => ({ Type: 'volume', Name: v.name, Source: '', Destination: v.target, Driver: 'local', Mode: '', RW: !v.readonly, Propagation: '' })),
    ],
  };
}

/** Docker's list filters: label, name, id, status, network, ancestor (and `exited=N`). */
export function matchesFilters(ctx: ApiContext, c: Container, filters: Record<string, string[]>): boolean {
  const spec = c.spec;
  for (const [key, values] of Object.entries(filters)) {
    if (!values.length) continue;
    const any = (test: (v: string) => boolean) => values.some(test);
    switch (key) {
      case 'label':
        // every label filter must hold
        if (!values.every((v) => {
          const i = v.indexOf('=');
          return i < 0 ? v in spec.labels : spec.labels[v.slice(0, i)] === v.slice(i + 1);
        }))
          return false;
        break;
      case 'name':
        if (!any((v) => { try { return new RegExp(v.replace(/^\//, '')).test(c.name); } catch { return c.name.includes(v); } })) return false;
        break;
      case 'id':
        if (!any((v) => c.id.startsWith(v))) return false;
        break;
      case 'status': {
        const status = c.status === 'removed' ? 'exited' : c.status;
        if (!any((v) => v === status)) return false;
        break;
      }
      case 'exited':
        if (c.status !== 'exited' || !any((v) => Number(v) === c.exitStatus?.exitCode)) return false;
        break;
      case 'network': {
        const names = [spec.network, ...spec.networks.map((n) => n.name)];
        const ids = ctx.runtime.networks().filter((n) => names.includes(n.name)).map((n) => n.id);
        if (!any((v) => names.includes(v) || ids.some((id) => id.startsWith(v)))) return false;
        break;
      }
      case 'ancestor': {
        const image = spec.labels['mayfly.image'] ?? '';
        const imageId = spec.labels['mayfly.image.id'] ?? '';
        if (!any((v) => v === image || image.startsWith(`${v}:`) || imageId === v || imageId.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, '')))) return false;
        break;
      }
      case 'health': {
        const h = extrasOf(ctx, c.id).health?.state.Status ?? 'none';
        if (!any((v) => v === h)) return false;
        break;
      }
      default:
        break;
    }
  }
  return true;
}
