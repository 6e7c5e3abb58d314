/**
 * The build context: the directory walked once with the .dockerignore rules applied (ignored files
 * are never listed, hashed, copied or part of a cache key), COPY/ADD sources resolved in it (with
 * wildcards, never outside it), and the content hash of what a COPY takes — paths, kinds,
 * permission bits, link targets and file bytes — which is the step's cache key.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { loadIgnoreRules, type IgnoreRules } from './dockerignore.js';
import { hasWildcards, matchPaths, PatternError } from './wildcards.js';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface ContextEntry {
  /** relative to the context, `/`-separated; '' is the context itself */
  rel: string;
  kind: EntryKind;
  /** permission bits (and setuid/setgid/sticky) */
  mode: number;
  size: number;
  mtimeMs: number;
  linkTarget?: string;
}

/** A source that resolved: where it is in the context, and what lies below it (for a directory). */
export interface ResolvedSource {
  entry: ContextEntry;
  /** for a directory: the included entries below it, each relative to the context, parents first */
  below: ContextEntry[];
}

function kindOf(st: Stats): EntryKind | undefined {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  return undefined; // sockets, FIFOs, devices have no place in an image
}

export class BuildContext {
  readonly root: string;
  readonly ignoreFile: string | undefined;
  private readonly rules: IgnoreRules;
  private listing: ContextEntry[] | undefined;
  private byRel: Map<string, ContextEntry> | undefined;
  private readonly hashes = new Map<string, string>();

  constructor(dir: string, dockerfile?: string) {
    try {
      this.root = realpathSync(dir);
    } catch {
      throw new MayflyError('INVALID_OPTION', `the build context ${dir} does not exist`, { hint: 'give the directory to build from, e.g. `mayfly build .`' });
    }
    if (!lstatSync(this.root).isDirectory()) throw new MayflyError('INVALID_OPTION', `the build context ${dir} is not a directory`);
    const { rules, file } = loadIgnoreRules(this.root, dockerfile);
    this.rules = rules;
    this.ignoreFile = file;
  }

  /** Every included entry, parents before children, in name order. Walked once. */
  entries(): ContextEntry[] {
    if (this.listing) return this.listing;
    const out: ContextEntry[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(rel ? join(this.root, rel) : this.root).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(join(this.root, r));
        const kind = kindOf(st);
        if (!kind) continue;
        const ignored = this.rules.ignores(r);
        if (kind === 'dir') {
          // an excluded directory is only entered when an exception may bring something back
          if (ignored && !this.rules.mayIncludeBelow(r)) continue;
          const at = out.length;
          walk(r);
          // an excluded directory is listed only as the parent of included entries
          if (!ignored || out.length > at) out.splice(at, 0, this.entry(r, st, kind));
          continue;
        }
        if (ignored) continue;
        out.push(this.entry(r, st, kind));
      }
    };
    walk('');
    this.listing = out;
    this.byRel = new Map(out.map((e) => [e.rel, e]));
    return out;
  }

  private entry(rel: string, st: Stats, kind: EntryKind): ContextEntry {
    return { rel, kind, mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs, ...(kind === 'symlink' ? { linkTarget: readlinkSync(join(this.root, rel)) } : {}) };
  }

  /** The included entry at a context path, if any. */
  find(rel: string): ContextEntry | undefined {
    this.entries();
    if (rel === '') return { rel: '', kind: 'dir', mode: 0o755, size: 0, mtimeMs: 0 };
    return this.byRel!.get(rel);
  }

  /**
   * A COPY source (as written, after variable expansion) → the entries it names. `/` and `.` are
   * the context root; `..` may not leave it; wildcards match per path element.
   */
  resolve(source: string, fail: (message: string, hint?: string) => never): ResolvedSource[] {
    const rel = contextRelative(source, fail);
    if (!hasWildcards(rel)) {
      const entry = this.find(rel);
      if (!entry) {
        const ignored = rel && this.rules.ignores(rel);
        fail(`${source} ${ignored ? `is excluded by ${this.ignoreFile ?? '.dockerignore'}` : 'does not exist in the build context'}`, ignored ? 'remove the pattern that excludes it' : `the context is ${this.root}`);
      }
      return [{ entry, below: this.below(entry) }];
    }
    let matched: string[];
    try {
      matched = matchPaths(rel, this.entries().map((e) => ({ rel: e.rel, isDir: e.kind === 'dir' })));
    } catch (e) {
      if (e instanceof PatternError) fail(e.message);
      throw e;
    }
    if (!matched.length) fail(`no file in the build context matches ${source}`, `the context is ${this.root}${this.ignoreFile ? `, filtered by ${this.ignoreFile}` : ''}`);
    return matched.map((r) => {
      const entry = this.find(r)!;
      return { entry, below: this.below(entry) };
    });
  }

  private below(entry: ContextEntry): ContextEntry[] {
    if (entry.kind !== 'dir') return [];
    const prefix = entry.rel ? `${entry.rel}/` : '';
    return this.entries().filter((e) => e.rel.startsWith(prefix) && e.rel !== entry.rel);
  }

  /** sha256 of a file's bytes, once per build. */
  fileHash(rel: string): string {
    let h = this.hashes.get(rel);
    if (!h) {
      h = createHash('sha256').update(readFileSync(join(this.root, rel))).digest('hex');
      this.hashes.set(rel, h);
    }
    return h;
  }

  /** What a COPY of these sources depends on: for each, and each entry below it, path, kind, mode, link target, content. */
  contentKey(sources: ResolvedSource[]): string {
    const h = createHash('sha256');
    for (const { entry, below } of sources) {
      h.update(`source\0${entry.rel}\0`);
      for (const e of [entry, ...below]) {
        const name = entry.rel ? posix.relative(entry.rel, e.rel) : e.rel;
        h.update(`${e.kind}\0${name}\0${e.mode.toString(8)}\0`);
        if (e.kind === 'symlink') h.update(`${e.linkTarget}\0`);
        if (e.kind === 'file') h.update(`${this.fileHash(e.rel)}\0`);
      }
    }
    return h.digest('hex');
  }
}

/** A source path → relative to the context root, or a failure when it would leave the context. */
export function contextRelative(source: string, fail: (message: string, hint?: string) => never): string {
  const normal = posix.normalize(`/${source}`);
  if (source.split('/').includes('..') && posix.normalize(source).startsWith('..')) {
    fail(`${source} is outside the build context`, 'a build can only copy files from inside its context: move the file into it, or choose a larger context');
  }
  return normal === '/' ? '' : normal.slice(1).replace(/\/$/, '');
}
