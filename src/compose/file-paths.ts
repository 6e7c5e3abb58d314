/**
 * Relative paths in a compose file are relative to the file's project directory — or, for a service
 * taken with `extends: {file}` or a file brought in by `include`, to that file's own. Each raw file is
 * made absolute against its directory as soon as it is read, so that merging files never mixes up
 * whose `./` a path meant.
 */
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { isMapping } from './yaml-document.js';

type Mapping = Record<string, unknown>;

/** A path on the host: `~` is the home directory, a relative one is against `dir`. */
export function hostPath(dir: string, p: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(dir, p);
}

/** Build contexts may be remote (a Git URL): those stay as written. */
function contextPath(dir: string, p: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(p) || p.startsWith('git@') ? p : hostPath(dir, p);
}

/** Short volume syntax: a source starting with `.`, `/` or `~` is a host path; anything else names a volume. */
export function isHostPathSource(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
}

export function rebaseService(def: Mapping, dir: string): Mapping {
  const out: Mapping = { ...def };
  if (typeof out.build === 'string') out.build = contextPath(dir, out.build);
  else if (isMapping(out.build)) out.build = { ...out.build, context: contextPath(dir, typeof out.build.context === 'string' ? out.build.context : '.') };
  const files = (v: unknown) => (typeof v === 'string' ? hostPath(dir, v) : isMapping(v) && typeof v.path === 'string' ? { ...v, path: hostPath(dir, v.path) } : v);
  for (const key of ['env_file', 'label_file']) {
    const v = out[key];
    if (v !== undefined) out[key] = Array.isArray(v) ? v.map(files) : files(v);
  }
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v) => {
      if (typeof v === 'string') {
        const i = v.indexOf(':');
        return i > 0 && isHostPathSource(v) ? `${hostPath(dir, v.slice(0, i))}${v.slice(i)}` : v;
      }
      if (isMapping(v) && v.type === 'bind' && typeof v.source === 'string') return { ...v, source: hostPath(dir, v.source) };
      return v;
    });
  }
  if (isMapping(out.extends) && typeof out.extends.file === 'string') out.extends = { ...out.extends, file: hostPath(dir, out.extends.file) };
  return out;
}

/** Every path of a raw file: its services', its secrets' and configs' files, its includes. */
export function rebaseFile(file: Mapping, dir: string): Mapping {
  const out: Mapping = { ...file };
  if (isMapping(out.services)) out.services = Object.fromEntries(Object.entries(out.services).map(([n, d]) => [n, isMapping(d) ? rebaseService(d, dir) : d]));
  for (const key of ['secrets', 'configs']) {
    const defs = out[key];
    if (isMapping(defs)) out[key] = Object.fromEntries(Object.entries(defs).map(([n, d]) => [n, isMapping(d) && typeof d.file === 'string' ? { ...d, file: hostPath(dir, d.file) } : d]));
  }
  return out;
}
