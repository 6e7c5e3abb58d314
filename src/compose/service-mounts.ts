/**
 * A service's `volumes`, `tmpfs`, `shm_size` and `volumes_from` as the container's binds, named
 * volumes and tmpfs mounts. Host paths are already absolute (file-paths.ts). An anonymous volume
 * (`- /data`) is a directory of the container's own, filled from the image as Docker fills it (the
 * `./app:/app` + `/app/node_modules` pattern keeps the image's node_modules), removed with it.
 */
import { MayflyError } from '../core/errors.js';
import type { ContainerOptions } from '../engine/runtime.js';
import { isHostPathSource, hostPath } from './file-paths.js';
import type { ComposeService } from './compose-schema.js';
import type { ComposeProject } from './compose-file.js';

type Bind = NonNullable<ContainerOptions['binds']>[number];
type Volume = NonNullable<ContainerOptions['volumes']>[number];
type Tmpfs = NonNullable<ContainerOptions['tmpfs']>[number];

export interface ServiceMounts {
  binds: Bind[];
  volumes: Volume[];
  tmpfs: Tmpfs[];
  anonymousVolumes: string[];
  /** bind sources compose creates as directories when missing (the short syntax's promise) */
  createHostPaths: string[];
}

/** The name a top-level volume has on this machine: `name:`, the external name, or `<project>_<key>`. */
export function volumeName(p: ComposeProject, vol: string): string {
  const def = p.content.volumes?.[vol];
  const ext = def?.external;
  return def?.name ?? (typeof ext === 'object' && ext.name ? ext.name : ext ? vol : `${p.name}_${vol}`);
}

// options of the short syntax that change nothing here: SELinux relabelling, macOS consistency, private propagation
const NO_OP_OPTIONS = new Set(['z', 'Z', 'cached', 'delegated', 'consistent', 'private', 'rprivate', 'nocopy']);

function named(p: ComposeProject, service: string, source: string): string {
  if (!p.content.volumes || !(source in p.content.volumes)) {
    throw new MayflyError('INVALID_OPTION', `service ${service} uses volume ${source}, which is not declared in the top-level volumes`, { hint: `add it: volumes: { ${source}: {} }` });
  }
  return volumeName(p, source);
}

function shortVolume(p: ComposeProject, service: string, text: string, out: ServiceMounts): void {
  const parts = text.split(':');
  if (parts.length === 1) {
    out.anonymousVolumes.push(parts[0]!);
    return;
  }
  const [source, target, opts = ''] = parts as [string, string, string?];
  if (!source && parts.length > 1) throw new MayflyError('INVALID_OPTION', `service ${service}: volume "${text}": the source is empty (does it come from a variable that is not set?)`);
  if (parts.length > 3 || !target) throw new MayflyError('INVALID_OPTION', `service ${service}: volume "${text}": expected SOURCE:TARGET[:OPTIONS]`);
  let readonly = false;
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro') readonly = true;
    else if (o === 'rw') readonly = false;
    else if (!NO_OP_OPTIONS.has(o)) throw new MayflyError('INVALID_OPTION', `service ${service}: volume "${text}": unknown option "${o}" (ro, rw, z, Z, cached, delegated, consistent, nocopy)`);
  }
  if (isHostPathSource(source)) {
    const path = hostPath(p.dir, source);
    out.binds.push({ source: path, target, readonly });
    out.createHostPaths.push(path);
  } else out.volumes.push({ name: named(p, service, source), target, readonly });
}

function octal(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : Number.parseInt(v, 8);
}

export function serviceMounts(p: ComposeProject, service: string, def: ComposeService): ServiceMounts {
  const out: ServiceMounts = { binds: [], volumes: [], tmpfs: [], anonymousVolumes: [], createHostPaths: [] };
  for (const v of def.volumes ?? []) {
    if (typeof v === 'string') {
      shortVolume(p, service, v, out);
      continue;
    }
    const readonly = v.read_only ?? false;
    if (v.type === 'tmpfs') out.tmpfs.push({ path: v.target, ...(v.tmpfs?.size !== undefined ? { size: v.tmpfs.size } : {}), ...(v.tmpfs?.mode !== undefined ? { mode: octal(v.tmpfs.mode)! } : {}) });
    else if (v.type === 'bind') {
      if (!v.source) throw new MayflyError('INVALID_OPTION', `service ${service}: the bind mount at ${v.target} needs a source`);
      const path = hostPath(p.dir, v.source);
      out.binds.push({ source: path, target: v.target, readonly });
      if (v.bind?.create_host_path) out.createHostPaths.push(path);
    } else if (v.type === 'volume') {
      if (v.source) out.volumes.push({ name: named(p, service, v.source), target: v.target, readonly });
      else out.anonymousVolumes.push(v.target);
    }
  }
  const t = def.tmpfs;
  for (const spec of typeof t === 'string' ? [t] : (t ?? [])) out.tmpfs.push(tmpfsEntry(service, spec));
  if (def.shm_size !== undefined) out.tmpfs.push({ path: '/dev/shm', size: def.shm_size, mode: 0o1777 });
  for (const from of def.volumes_from ?? []) volumesFrom(p, service, from, out);
  return out;
}

/** `/run` or `/run:size=64m,mode=1777` (Docker's `--tmpfs` options; rw, nosuid and nodev are what it is anyway) */
function tmpfsEntry(service: string, spec: string): Tmpfs {
  const i = spec.indexOf(':');
  const path = i < 0 ? spec : spec.slice(0, i);
  const entry: Tmpfs = { path };
  for (const opt of i < 0 ? [] : spec.slice(i + 1).split(',').filter(Boolean)) {
    const [k = '', v = ''] = opt.split('=');
    if (k === 'size') entry.size = v;
    else if (k === 'mode') entry.mode = Number.parseInt(v, 8);
    else if (!['rw', 'nosuid', 'nodev'].includes(k)) throw new MayflyError('INVALID_OPTION', `service ${service}: tmpfs "${spec}": option "${opt}" is not supported (size, mode)`);
  }
  return entry;
}

/** `volumes_from: [svc, svc:ro]`: the other service's named volumes and binds, at the same places. */
function volumesFrom(p: ComposeProject, service: string, from: string, out: ServiceMounts): void {
  if (from.startsWith('container:')) throw new MayflyError('INVALID_OPTION', `service ${service}: volumes_from "${from}": only services of this project can be named`);
  const [other = '', mode] = from.split(':');
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw new MayflyError('INVALID_OPTION', `service ${service}: volumes_from "${from}": the mode is ro or rw`);
  const def = p.content.services[other];
  if (!def) throw new MayflyError('INVALID_OPTION', `service ${service}: volumes_from ${other}, which is not defined`);
  const theirs = serviceMounts(p, other, { ...def, volumes_from: [], tmpfs: [], shm_size: undefined });
  const anonymous = theirs.anonymousVolumes[0] ?? theirs.tmpfs[0]?.path;
  if (anonymous) {
    throw new MayflyError('INVALID_OPTION', `service ${service}: volumes_from ${other}: its anonymous volume ${anonymous} belongs to its own container here and cannot be shared`, { hint: `give it a name in ${other} (volumes: [name:${anonymous}]) and declare it` });
  }
  const ro = (readonly: boolean) => (mode === 'ro' ? true : mode === 'rw' ? false : readonly);
  out.binds.push(...theirs.binds.map((b) => ({ ...b, readonly: ro(b.readonly ?? false) })));
  out.volumes.push(...theirs.volumes.map((v) => ({ ...v, readonly: ro(v.readonly ?? false) })));
}
