/**
 * Volumes over the Docker API: create (a name, or a random one as Docker makes), list as
 * `{"Volumes", "Warnings"}`, inspect, remove (409 while a container uses it), prune.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isMayflyError } from '../../core/errors.js';
import { volumeDocument } from '../../engine/docker-inspect.js';
import { layoutOf } from '../../model/layout.js';
import { inspectVolume, VOLUME_NAME, type VolumeInfo } from '../../runtime/volumes.js';
import { matchesLabels, versionAtLeast } from '../image-summary.js';

/** Docker's mark of an anonymous volume */
const ANONYMOUS = 'com.docker.volume.anonymous';
import { apiError, type ApiCall, type Route } from '../route.js';

const createBody = z.object({
  Name: z.string().optional(),
  Driver: z.string().optional(),
  DriverOpts: z.record(z.string(), z.string()).nullable().optional(),
  Labels: z.record(z.string(), z.string()).nullable().optional(),
});

function find(call: ApiCall, name: string): VolumeInfo {
  if (!VOLUME_NAME.test(name)) throw apiError(404, `get ${name}: no such volume`);
  try {
    return inspectVolume(layoutOf(call.ctx.home), name);
  } catch (e) {
    if (isMayflyError(e, 'INVALID_OPTION')) throw apiError(404, `get ${name}: no such volume`);
    throw e;
  }
}

function list(call: ApiCall) {
  const f = call.filters();
  const volumes = call.ctx.runtime
    .volumes()
    .filter((v) => !f.name?.length || f.name.some((x) => v.name.includes(x)))
    .filter((v) => !f.label?.length || matchesLabels(v.labels, f.label))
    .filter((v) => !f.driver?.length || f.driver.includes('local'))
    .filter((v) => !f.dangling?.length || /^(1|true)$/i.test(f.dangling[0]!) === (v.usedBy.length === 0));
  return { Volumes: volumes.map(volumeDocument), Warnings: [] };
}

async function create(call: ApiCall) {
  const body = await call.json(createBody);
  if (body.Driver && body.Driver !== 'local') throw apiError(400, `volume driver "${body.Driver}" is not supported: mayfly has only the local driver`);
  if (body.DriverOpts && Object.keys(body.DriverOpts).length) throw apiError(400, 'volume driver options are not supported: a mayfly volume is a directory');
  const name = body.Name || randomBytes(32).toString('hex');
  const v = call.ctx.runtime.createVolume(name, body.Labels ?? {});
  call.ctx.events.emit('volume', 'create', v.name, { driver: 'local' });
  return call.reply(201, volumeDocument(v));
}

async function remove(call: ApiCall) {
  const v = find(call, call.params.name!);
  await call.ctx.runtime.removeVolumes([v.name], { force: call.flag('force') });
  call.ctx.events.emit('volume', 'destroy', v.name, { driver: 'local' });
  return call.noContent();
}

/**
 * The volumes no container uses go (narrowed by `label`). Since API 1.42 Docker prunes only
 * anonymous ones unless the `all` filter says otherwise: a newer client's prune keeps named volumes
 * (mayfly's anonymous volumes live with their container, so such a prune finds none to take).
 */
async function prune(call: ApiCall) {
  const f = call.filters();
  const all = !versionAtLeast(call.version, 1, 42) || /^(1|true)$/i.test(f.all?.[0] ?? '');
  const names = call.ctx.runtime
    .volumes()
    .filter((v) => !v.usedBy.length && (!f.label?.length || matchesLabels(v.labels, f.label)))
    .filter((v) => all || v.labels[ANONYMOUS] !== undefined)
    .map((v) => v.name);
  const removed = names.length ? await call.ctx.runtime.removeVolumes(names) : [];
  for (const n of removed) call.ctx.events.emit('volume', 'destroy', n, { driver: 'local' });
  return { VolumesDeleted: removed, SpaceReclaimed: 0 };
}

export const volumeRoutes: Route[] = [
  { method: 'GET', path: '/volumes', handle: list },
  { method: 'POST', path: '/volumes/create', handle: create },
  { method: 'POST', path: '/volumes/prune', handle: prune },
  { method: 'GET', path: '/volumes/:name', handle: (call) => volumeDocument(find(call, call.params.name!)) },
  { method: 'DELETE', path: '/volumes/:name', handle: remove },
];
