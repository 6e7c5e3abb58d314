/**
 * What Testcontainers reads from `docker inspect`, read from mayfly's container instead: labels,
 * host name, network ids, the published ports in Docker's shape — for local and kept (reused,
 * compose) containers alike.
 */
import { hostname } from 'node:os';
import type { ContainerHandle } from '../harness/started-container.js';
import { Container } from '../runtime/container.js';
import { KeptHandle } from '../keeper/client.js';
import { readNetwork } from '../network/network-store.js';
import { mayflyHome } from '../core/paths.js';
import { layoutOf, readState } from '../model/home.js';
import type { HealthCheckStatus, InspectResult, Labels, Ports } from './types.js';

export function labelsOf(c: ContainerHandle): Labels {
  if (c instanceof Container) return { ...c.spec.labels };
  if (c instanceof KeptHandle) return c.labels;
  return {};
}

export function imageIdOf(c: ContainerHandle): string | undefined {
  if (c instanceof Container) return c.spec.labels['mayfly.image.id'];
  if (c instanceof KeptHandle) return c.imageId;
  return undefined;
}

/** the name the container calls itself (`-h`; with the host's network the host's name; else the first 12 characters of its id, as Docker) */
export function hostnameOf(c: ContainerHandle): string {
  const spec = c instanceof Container ? c.spec : readState(c.dir)?.spec;
  return spec?.hostname ?? (spec?.network === 'host' ? hostname() : c.id.slice(0, 12));
}

export function networkIdOf(network: string): string | undefined {
  return readNetwork(layoutOf(mayflyHome()), network)?.id;
}

export function portsOf(c: ContainerHandle): Ports {
  const out: Ports = {};
  for (const p of c.ports()) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ hostIp: p.hostIp, hostPort: p.hostPort });
  return out;
}

export function inspectOf(c: ContainerHandle, o: { name: string; startedAt: Date; healthCheckStatus: HealthCheckStatus }): InspectResult {
  return {
    name: o.name,
    hostname: hostnameOf(c),
    ports: portsOf(c),
    healthCheckStatus: o.healthCheckStatus,
    networkSettings: Object.fromEntries(c.networks().map((a) => [a.network, { networkId: networkIdOf(a.network) ?? '', ipAddress: a.ip }])),
    state: { status: c.status, running: c.status === 'running', startedAt: o.startedAt, finishedAt: undefined },
    labels: labelsOf(c),
  };
}
