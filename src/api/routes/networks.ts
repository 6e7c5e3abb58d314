/**
 * Networks over the Docker API: create, list (the built-in `bridge`, `host` and `none` as Docker
 * lists them), inspect, remove, connect and disconnect (at once when the container runs, as the
 * runtime joins a running container's network namespace to the bridge), prune.
 */
import { z } from 'zod';
import { isMayflyError } from '../../core/errors.js';
import { allNetworks, findNetwork, idOf, nameOf, networkDocumentOf, type FoundNetwork } from '../../engine/network-documents.js';
import { layoutOf, type Layout } from '../../model/layout.js';
import { createNetwork, networkUsers, removeNetwork } from '../../network/network-store.js';
import { matchesLabels } from '../image-summary.js';
import { apiError, type ApiCall, type Route } from '../route.js';

const createBody = z.object({
  Name: z.string().min(1),
  Driver: z.string().optional(),
  Internal: z.boolean().optional(),
  Labels: z.record(z.string(), z.string()).nullable().optional(),
  EnableIPv6: z.boolean().optional(),
  IPAM: z
    .object({ Config: z.array(z.object({ Subnet: z.string().optional() }).passthrough()).nullable().optional() })
    .passthrough()
    .nullable()
    .optional(),
});

const endpointBody = z.object({
  Container: z.string().min(1),
  EndpointConfig: z.object({ Aliases: z.array(z.string()).nullable().optional() }).passthrough().nullable().optional(),
  Force: z.boolean().optional(),
});

const layout = (call: ApiCall) => layoutOf(call.ctx.home);
const driverOf = (n: FoundNetwork) => (n.kind === 'builtin' ? (n.name === 'host' ? 'host' : 'null') : 'bridge');
const labelsOf = (n: FoundNetwork) => (n.kind === 'record' ? n.record.labels : {});
const isBuiltin = (n: FoundNetwork) => n.kind === 'builtin' || n.record.builtin === true;

function list(call: ApiCall) {
  const l = layout(call);
  const f = call.filters();
  return allNetworks(l)
    .filter((n) => !f.name?.length || f.name.some((x) => nameOf(n).includes(x)))
    .filter((n) => !f.id?.length || f.id.some((x) => idOf(n).startsWith(x)))
    .filter((n) => !f.driver?.length || f.driver.includes(driverOf(n)))
    .filter((n) => !f.label?.length || matchesLabels(labelsOf(n), f.label))
    .filter((n) => !f.type?.length || f.type.includes(isBuiltin(n) ? 'builtin' : 'custom'))
    .filter((n) => !f.dangling?.length || /^(1|true)$/i.test(f.dangling[0]!) === (!isBuiltin(n) && !networkUsers(l, nameOf(n)).length))
    .map((n) => networkDocumentOf(l, n));
}

async function create(call: ApiCall) {
  const body = await call.json(createBody);
  const driver = body.Driver || 'bridge';
  if (driver !== 'bridge') throw apiError(400, `network driver "${driver}" is not supported: mayfly has only the bridge driver`);
  const warnings: string[] = [];
  if (body.IPAM?.Config?.some((c) => c.Subnet)) warnings.push('mayfly chooses the subnet itself; the IPAM configuration was not applied');
  if (body.EnableIPv6) warnings.push('IPv6 is not supported on mayfly networks; the network has IPv4 only');
  const record = createNetwork(layout(call), { name: body.Name, labels: body.Labels ?? {}, internal: body.Internal ?? false });
  call.ctx.events.emit('network', 'create', record.id, { name: record.name, type: 'bridge' });
  return call.reply(201, { Id: record.id, Warning: warnings.join('; ') });
}

function remove(call: ApiCall) {
  const l = layout(call);
  const n = findNetwork(l, call.params.id!);
  if (isBuiltin(n)) throw apiError(403, `${nameOf(n)} is a pre-defined network and cannot be removed`);
  try {
    removeNetwork(l, nameOf(n));
  } catch (e) {
    // Docker's status for a network with active endpoints
    if (isMayflyError(e, 'NETWORK_IN_USE')) throw apiError(403, `error while removing network: ${e.message.split('\n')[0]}`);
    throw e;
  }
  call.ctx.events.emit('network', 'destroy', idOf(n), { name: nameOf(n), type: 'bridge' });
  return call.noContent();
}

/** The network a connect or disconnect names: a user-defined one or the default bridge. */
function joinable(l: Layout, ref: string, verb: string): FoundNetwork {
  const n = findNetwork(l, ref);
  if (n.kind === 'builtin') throw apiError(403, `container cannot be ${verb} the ${n.name} network`);
  return n;
}

async function connect(call: ApiCall) {
  const body = await call.json(endpointBody);
  const n = joinable(layout(call), call.params.id!, 'connected to');
  const c = call.ctx.holdings.get(body.Container);
  await c.connect(nameOf(n), body.EndpointConfig?.Aliases ?? []);
  call.ctx.events.emit('network', 'connect', idOf(n), { name: nameOf(n), type: 'bridge', container: c.id });
  return call.reply(200);
}

async function disconnect(call: ApiCall) {
  const body = await call.json(endpointBody);
  const n = joinable(layout(call), call.params.id!, 'disconnected from');
  const c = call.ctx.holdings.get(body.Container);
  await c.disconnect(nameOf(n));
  call.ctx.events.emit('network', 'disconnect', idOf(n), { name: nameOf(n), type: 'bridge', container: c.id });
  return call.reply(200);
}

/** Removes the user-defined networks no live container is attached to (narrowed by `label`). */
function prune(call: ApiCall) {
  const l = layout(call);
  const f = call.filters();
  const removed: string[] = [];
  for (const n of allNetworks(l)) {
    if (isBuiltin(n) || networkUsers(l, nameOf(n)).length) continue;
    if (f.label?.length && !matchesLabels(labelsOf(n), f.label)) continue;
    try {
      removeNetwork(l, nameOf(n));
    } catch (e) {
      if (isMayflyError(e, 'NETWORK_IN_USE') || isMayflyError(e, 'NETWORK_NOT_FOUND')) continue; // joined or went meanwhile
      throw e;
    }
    removed.push(nameOf(n));
    call.ctx.events.emit('network', 'destroy', idOf(n), { name: nameOf(n), type: 'bridge' });
  }
  return { NetworksDeleted: removed };
}

export const networkRoutes: Route[] = [
  { method: 'GET', path: '/networks', handle: list },
  { method: 'POST', path: '/networks/create', handle: create },
  { method: 'POST', path: '/networks/prune', handle: prune },
  { method: 'GET', path: '/networks/:id', handle: (call) => networkDocumentOf(layout(call), findNetwork(layout(call), call.params.id!)) },
  { method: 'DELETE', path: '/networks/:id', handle: remove },
  { method: 'POST', path: '/networks/:id/connect', handle: connect },
  { method: 'POST', path: '/networks/:id/disconnect', handle: disconnect },
];
