/**
 * What a COPY or ADD puts into a new layer, as planned by the builder and carried out in the sandbox
 * (which can give files to any id of the image): sources from a directory on the host (the build
 * context, already filtered by .dockerignore) or from a view of another image's layers (COPY
 * --from), written into a fresh staging directory that becomes the layer. The destination is
 * resolved in a view of the image's own layers, as Docker does: symlinks on the way are followed
 * inside the image (`/var/run` → `/run`), a destination that is a directory there is copied into,
 * and the directories the layer must carry keep the owner, mode and time they have in the image.
 */
import { chmodSync, copyFileSync, existsSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import { runTool } from '../../core/host-tool.js';

export type CopyItem =
  /** a path under the source root ('' is the root); a directory's content is copied, not the directory */
  | { kind: 'entry'; rel: string; below?: string[] }
  /** bytes given here (a heredoc), or a file on the host (a downloaded URL), named `name` */
  | { kind: 'content'; name: string; data: string; mode?: number }
  | { kind: 'file'; name: string; path: string; mode?: number }
  /** ADD of a local tar archive: unpacked at the destination */
  | { kind: 'archive'; rel: string };

export interface CopyPlan {
  /** the image's layers, bottom first: where the destination is resolved */
  parentLayers: string[];
  /** where `entry` and `archive` sources are */
  from: { kind: 'dir'; root: string } | { kind: 'layers'; layers: string[] };
  items: CopyItem[];
  /** absolute path in the image */
  dest: string;
  /** the destination is a directory to copy into (it ends in `/`, or there are several sources) */
  destIsDir: boolean;
  /** --chown; without it, files from a directory belong to 0:0 and files from layers keep their ids */
  owner?: { uid: number; gid: number };
  /** --chmod: the permission bits of every copied file and directory */
  mode?: number;
}

/** Joins a path onto a root, following symlinks as the image would see them (never outside the root). */
export function resolveInRoot(root: string, path: string, followLast = true): string {
  const pending = path.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = join(root, ...done, part);
    let link: string | undefined;
    if (followLast || pending.length) {
      try {
        if (lstatSync(candidate).isSymbolicLink()) link = readlinkSync(candidate);
      } catch {
        // a missing component is created as a directory
      }
    }
    if (link === undefined) {
      done.push(part);
      continue;
    }
    if (++links > 40) throw new MayflyError('COPY_FAILED', `too many levels of symbolic links in ${path}`);
    if (link.startsWith('/')) done.length = 0;
    pending.unshift(...link.split('/').filter(Boolean));
  }
  return `/${done.join('/')}`;
}

function statOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** A whiteout (a 0/0 character device) is a deletion, not a file. */
const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

export class CopyExecutor {
  /** whether anything new was written (not only directories the image already has) */
  wroteSomething = false;

  constructor(
    private readonly plan: CopyPlan,
    /** the source root: the host directory, or the mounted view of the source layers */
    private readonly sourceRoot: string,
    /** the mounted view of the image's layers */
    private readonly parentRoot: string,
    /** the staging directory that becomes the layer */
    private readonly out: string,
  ) {}

  async run(): Promise<void> {
    const p = this.plan;
    const destDir = p.destIsDir || this.isDirInParent(p.dest);
    if (!p.items.length) {
      // WORKDIR: only the directory itself
      this.ensureDir(resolveInRoot(this.parentRoot, p.dest));
      return;
    }
    for (const item of p.items) {
      if (item.kind === 'archive') {
        const target = this.ensureDir(resolveInRoot(this.parentRoot, p.dest));
        await runTool('tar', ['-x', '-f', join(this.sourceRoot, item.rel), '-C', join(this.out, target), ...(p.owner ? ['--no-same-owner'] : [])]);
        if (p.owner) await runTool('chown', ['-R', '-h', `${p.owner.uid}:${p.owner.gid}`, join(this.out, target)]);
        this.wroteSomething = true;
        continue;
      }
      if (item.kind === 'content' || item.kind === 'file') {
        const target = this.fileTarget(destDir, item.name);
        if (item.kind === 'content') writeFileSync(join(this.out, target), item.data);
        else copyFileSync(item.path, join(this.out, target));
        this.finish(join(this.out, target), p.mode ?? item.mode ?? 0o644, p.owner ?? { uid: 0, gid: 0 });
        continue;
      }
      // in another image's layers, links on the way are that image's (the last one is copied as a link)
      const rel = this.plan.from.kind === 'layers' ? resolveInRoot(this.sourceRoot, item.rel, false).slice(1) : item.rel;
      const src = join(this.sourceRoot, rel);
      const st = statOrUndefined(src);
      if (!st || isWhiteout(st)) throw new MayflyError('COPY_FAILED', `${item.rel || '/'} does not exist in the source`);
      if (st.isDirectory()) {
        const target = this.ensureDir(resolveInRoot(this.parentRoot, p.dest));
        const below = item.below ?? this.everythingBelow(src);
        for (const r of below) this.copyOne(join(src, r), join(this.out, target, r));
        this.wroteSomething = true;
      } else {
        const target = this.fileTarget(destDir, basename(rel));
        this.copyOne(src, join(this.out, target));
      }
    }
  }

  /** Where a single file goes: into the destination directory, or at the destination itself. */
  private fileTarget(destDir: boolean, name: string): string {
    if (destDir) return posix.join(this.ensureDir(resolveInRoot(this.parentRoot, this.plan.dest)), name);
    const resolved = resolveInRoot(this.parentRoot, this.plan.dest, false);
    this.ensureDir(posix.dirname(resolved));
    return resolved;
  }

  private isDirInParent(path: string): boolean {
    return statOrUndefined(join(this.parentRoot, resolveInRoot(this.parentRoot, path)))?.isDirectory() ?? false;
  }

  /** Everything below a directory of the source, parents first (COPY --from, where nothing is ignored). */
  private everythingBelow(dir: string): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(dir, rel)).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        out.push(r);
        if (lstatSync(join(dir, r)).isDirectory()) walk(r);
      }
    };
    walk('');
    return out;
  }

  /**
   * Makes an image directory (resolved) in the staging tree with its parents: those the image has
   * keep their owner, mode and time; new ones are 0755 and belong to the --chown user (else root).
   */
  private ensureDir(path: string): string {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const staged = join(this.out, rel);
      if (existsSync(staged)) continue;
      const existing = statOrUndefined(join(this.parentRoot, rel));
      if (existing?.isDirectory()) {
        mkdirSync(staged);
        chmodSync(staged, existing.mode & 0o7777);
        lchownSync(staged, existing.uid, existing.gid);
        utimesSync(staged, existing.atime, existing.mtime);
      } else {
        mkdirSync(staged, { mode: 0o755 });
        chmodSync(staged, 0o755);
        const o = this.plan.owner ?? { uid: 0, gid: 0 };
        lchownSync(staged, o.uid, o.gid);
        this.wroteSomething = true;
      }
    }
    return `/${parts.join('/')}`;
  }

  private copyOne(src: string, dest: string): void {
    const st = lstatSync(src);
    if (isWhiteout(st)) return;
    const owner = this.plan.owner ?? (this.plan.from.kind === 'dir' ? { uid: 0, gid: 0 } : { uid: st.uid, gid: st.gid });
    if (st.isSymbolicLink()) {
      // the link itself, never what it points to
      symlinkSync(readlinkSync(src), dest);
      lchownSync(dest, owner.uid, owner.gid);
      lutimesSync(dest, st.atime, st.mtime);
    } else if (st.isDirectory()) {
      if (!existsSync(dest)) mkdirSync(dest);
      this.finish(dest, this.plan.mode ?? st.mode & 0o7777, owner, st);
    } else if (st.isFile()) {
      copyFileSync(src, dest);
      this.finish(dest, this.plan.mode ?? st.mode & 0o7777, owner, st);
    } else return; // sockets, FIFOs and devices have no place in a layer
    this.wroteSomething = true;
  }

  private finish(path: string, mode: number, owner: { uid: number; gid: number }, times?: Stats): void {
    lchownSync(path, owner.uid, owner.gid);
    chmodSync(path, mode); // after chown, which clears setuid bits
    if (times) utimesSync(path, times.atime, times.mtime);
    this.wroteSomething = true;
  }
}

/** Lists a directory of a view (COPY --from with wildcards): paths relative to `dir`, parents first. */
export function listView(root: string, dir: string): { rel: string; isDir: boolean }[] {
  const base = join(root, resolveInRoot(root, dir));
  if (!statOrUndefined(base)?.isDirectory()) return [];
  const out: { rel: string; isDir: boolean }[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(rel ? join(base, rel) : base).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(base, r));
      if (isWhiteout(st)) continue;
      out.push({ rel: r, isDir: st.isDirectory() });
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}
