/**
 * `secrets` and `configs`: files the service finds in place when it starts — secrets at
 * /run/secrets/NAME (or their `target`), configs at /NAME (or theirs). A file source is bind-mounted
 * read-only as it is, as compose does; content from `environment:` or `content:`, and any file given
 * a `mode`, `uid` or `gid`, is written under MAYFLY_HOME/compose/PROJECT/ (0444 unless `mode` says
 * otherwise) and bind-mounted read-only from there. `compose down` removes those copies.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { mayflyHome } from '../core/paths.js';
import type { ContainerOptions } from '../engine/runtime.js';
import type { ComposeService } from './compose-schema.js';
import type { ComposeProject } from './compose-file.js';

export interface MountedFile {
  kind: 'secret' | 'config';
  /** the top-level name */
  name: string;
  target: string;
  source: { file: string } | { content: string; from: string };
  mode?: number;
  uid?: number;
  gid?: number;
}

function idOf(v: string | number | undefined, what: string, where: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new MayflyError('INVALID_OPTION', `${where}: ${what} "${v}" is not a numeric id`);
  return n;
}

function modeOf(v: string | number | undefined, where: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : /^0?[0-7]{1,4}$/.test(v) ? Number.parseInt(v, 8) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o7777) throw new MayflyError('INVALID_OPTION', `${where}: mode "${v}" is not a file mode like 0440`);
  return n;
}

/** The secrets and configs a service asks for, resolved against the top-level definitions. */
export function mountedFiles(p: ComposeProject, service: string, def: ComposeService): MountedFile[] {
  const out: MountedFile[] = [];
  for (const [key, kind] of [['secrets', 'secret'], ['configs', 'config']] as const) {
    for (const ref of def[key] ?? []) {
      const r = typeof ref === 'string' ? { source: ref } : ref;
      const where = `service ${service}: ${key}.${r.source}`;
      const top = p.content[key]?.[r.source];
      if (!top) throw new MayflyError('INVALID_OPTION', `service ${service} uses ${kind} ${r.source}, which is not defined in the top-level ${key}`);
      const target = !r.target ? (kind === 'secret' ? `/run/secrets/${r.source}` : `/${r.source}`) : r.target.startsWith('/') ? r.target : kind === 'secret' ? `/run/secrets/${r.target}` : `/${r.target}`;
      let source: MountedFile['source'];
      if (top.file !== undefined) source = { file: top.file };
      else if (top.environment !== undefined) {
        const value = p.vars[top.environment];
        if (value === undefined) throw new MayflyError('INVALID_OPTION', `${kind} ${r.source} comes from the environment variable ${top.environment}, which is not set`, { hint: `set ${top.environment} in the environment or in .env` });
        source = { content: value, from: `$${top.environment}` };
      } else if ('content' in top && typeof top.content === 'string') source = { content: top.content, from: 'content' };
      else if (top.external) continue; // refused by the policy check, with its reason
      else throw new MayflyError('INVALID_OPTION', `${key} ${r.source} needs a file, ${kind === 'config' ? 'content ' : ''}or environment`);
      const mode = modeOf(r.mode, where);
      const uid = idOf(r.uid, 'uid', where);
      const gid = idOf(r.gid, 'gid', where);
      out.push({ kind, name: r.source, target, source, ...(mode !== undefined ? { mode } : {}), ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) });
    }
  }
  return out;
}

/** Whether the file is mounted from a copy (rather than its source, as it is). */
function copied(f: MountedFile): boolean {
  return 'content' in f.source || f.mode !== undefined || f.uid !== undefined || f.gid !== undefined;
}

/** What identifies the mounted files' content: a container whose files changed is recreated. */
export function mountedFilesDigest(files: MountedFile[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(JSON.stringify([f.kind, f.name, f.target, f.mode, f.uid, f.gid]));
    if ('content' in f.source) h.update(f.source.content);
    else if (copied(f) && existsSync(f.source.file) && statSync(f.source.file).isFile()) h.update(readFileSync(f.source.file));
    else h.update(f.source.file);
  }
  return h.digest('hex').slice(0, 16);
}

export function projectFilesDir(p: ComposeProject, home = mayflyHome()): string {
  return join(home, 'compose', p.name);
}

/** Writes the copies a service's files need and returns the read-only binds that put them in place. */
export function stageMountedFiles(p: ComposeProject, service: string, files: MountedFile[], home = mayflyHome()): NonNullable<ContainerOptions['binds']> {
  const root = process.getuid?.() === 0;
  return files.map((f) => {
    const where = `service ${service}: ${f.kind} ${f.name}`;
    if ('file' in f.source && !existsSync(f.source.file)) throw new MayflyError('INVALID_OPTION', `${where}: ${f.source.file} not found`);
    if (!copied(f)) return { source: (f.source as { file: string }).file, target: f.target, readonly: true };
    if (!root && ((f.uid ?? 0) !== 0 || (f.gid ?? 0) !== 0)) {
      throw new MayflyError('INVALID_OPTION', `${where}: uid/gid ${f.uid ?? 0}:${f.gid ?? 0} cannot be given without root: mayfly writes the file as you, which is the container's root`, { hint: 'leave uid and gid out (the file is then owned by root in the container and readable as its mode says)' });
    }
    const dir = join(projectFilesDir(p, home), service, `${f.kind}s`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // one copy per target: a service may mount the same secret twice, with different modes
    const path = join(dir, `${f.name}-${createHash('sha256').update(f.target).digest('hex').slice(0, 8)}`);
    let data: Buffer | string;
    if ('content' in f.source) data = f.source.content;
    else {
      if (statSync(f.source.file).isDirectory()) throw new MayflyError('INVALID_OPTION', `${where}: ${f.source.file} is a directory: mode, uid and gid apply to files`);
      data = readFileSync(f.source.file);
    }
    // rewritten in place: a running container keeps seeing the file it has mounted
    if (existsSync(path)) chmodSync(path, 0o600);
    writeFileSync(path, data, { mode: 0o600 });
    if (root && (f.uid !== undefined || f.gid !== undefined)) chownSync(path, f.uid ?? 0, f.gid ?? 0);
    chmodSync(path, f.mode ?? 0o444);
    return { source: path, target: f.target, readonly: true };
  });
}

/** Removes the copies written for the project's services. */
export function removeProjectFiles(p: ComposeProject, home = mayflyHome()): void {
  rmSync(projectFilesDir(p, home), { recursive: true, force: true });
}

/**
 * Build secrets as the builder takes them (`{src: file}`): a file source as it is; a value (from
 * the environment or .env) written to a 0600 file for the build's duration.
 */
export function stageBuildSecrets(p: ComposeProject, service: string, secrets: { id: string; source: { file: string } | { content: string } }[], home = mayflyHome()): Record<string, { src: string }> {
  const out: Record<string, { src: string }> = {};
  for (const s of secrets) {
    if ('file' in s.source) {
      if (!existsSync(s.source.file)) throw new MayflyError('INVALID_OPTION', `service ${service}: build secret ${s.id}: ${s.source.file} not found`);
      out[s.id] = { src: s.source.file };
      continue;
    }
    const dir = join(projectFilesDir(p, home), service, 'build-secrets');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, createHash('sha256').update(s.id).digest('hex').slice(0, 16));
    writeFileSync(path, s.source.content, { mode: 0o600 });
    out[s.id] = { src: path };
  }
  return out;
}

export function removeBuildSecrets(p: ComposeProject, service: string, home = mayflyHome()): void {
  rmSync(join(projectFilesDir(p, home), service, 'build-secrets'), { recursive: true, force: true });
}
