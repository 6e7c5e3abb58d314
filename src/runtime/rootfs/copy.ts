/**
 * A private copy of the layers per container, where neither kernel overlayfs nor fuse-overlayfs
 * works: slow to prepare, but it needs nothing from the kernel. Its diff is computed by comparing
 * the copy with the layers it was made from.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, lchownSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, chmodSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { runTool } from '../../core/host-tool.js';
import { writeWhiteout } from '../../image/layer/whiteouts.js';
import { isOpaque, isWhiteout, overlayMarkers } from './overlay-markers.js';
import type { RootfsDriver } from './rootfs-driver.js';


export const copyDriver: RootfsDriver = {
  name: 'copy',
  async prepare(c) {
    const target = join(c.dir, 'rootfs');
    mkdirSync(target, { recursive: true, mode: 0o755 });
    for (const layer of c.layers) {
      const { whiteouts, opaque } = overlayMarkers(layer);
      // what this layer deletes or hides goes first, then its files; its whiteout nodes last
      for (const p of [...whiteouts, ...opaque]) rmSync(join(target, p), { recursive: true, force: true });
      await runTool('cp', ['-a', '--no-target-directory', layer, target]);
      for (const p of whiteouts) rmSync(join(target, p), { force: true });
    }
  },
  async mount(c) {
    return { plan: { driver: 'prepared', target: join(c.dir, 'rootfs') }, freshShim: false };
  },
  async unmount() {},
  async diff(c) {
    const out = join(c.dir, `diff-${randomBytes(4).toString('hex')}`);
    mkdirSync(out, { mode: 0o755 });
    try {
      writeDiff(lowerView(c.layers), join(c.dir, 'rootfs'), out);
    } catch (e) {
      rmSync(out, { recursive: true, force: true });
      throw e;
    }
    return { dir: out, owned: true };
  },
  async remove() {},
};

/** What the layers show, path by path (relative, '' the root): the file that provides each. */
function lowerView(layers: readonly string[]): Map<string, string> {
  const view = new Map<string, string>();
  const drop = (rel: string) => {
    for (const k of [...view.keys()]) if (k === rel || k.startsWith(`${rel}/`)) view.delete(k);
  };
  for (const layer of layers) {
    const walk = (rel: string) => {
      for (const e of readdirSync(join(layer, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        const abs = join(layer, p);
        if ((e.isCharacterDevice() || e.isFile()) && isWhiteout(abs)) {
          drop(p);
          continue;
        }
        if (e.isDirectory()) {
          if (isOpaque(abs)) drop(p);
          else if (view.has(p) && !lstatSync(view.get(p)!).isDirectory()) drop(p);
          view.set(p, abs);
          walk(p);
        } else {
          drop(p);
          view.set(p, abs);
        }
      }
    };
    walk('');
  }
  return view;
}

function sameEntry(a: Stats, b: Stats, aPath: string, bPath: string): boolean {
  if ((a.mode & 0o170000) !== (b.mode & 0o170000) || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.isSymbolicLink()) return readlinkSync(aPath) === readlinkSync(bPath);
  if (a.isDirectory()) return true;
  return a.size === b.size && Math.trunc(a.mtimeMs) === Math.trunc(b.mtimeMs);
}

/** Writes into `out` what `rootfs` adds or changes over `lower`, and a whiteout for what it deletes. */
function writeDiff(lower: Map<string, string>, rootfs: string, out: string): void {
  const made = new Set<string>(['']);
  // a changed entry deep down needs its parent directories in the diff, with their metadata
  const parents = (rel: string) => {
    const up = dirname(rel) === '.' ? '' : dirname(rel);
    if (made.has(up)) return;
    parents(up);
    copyEntry(join(rootfs, up), join(out, up), lstatSync(join(rootfs, up)));
    made.add(up);
  };
  const seen = new Set<string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(rootfs, rel))) {
      const p = rel ? `${rel}/${name}` : name;
      seen.add(p);
      const abs = join(rootfs, p);
      const st = lstatSync(abs);
      const below = lower.get(p);
      const changed = !below || !sameEntry(st, lstatSync(below), abs, below);
      if (changed) {
        parents(p);
        copyEntry(abs, join(out, p), st);
        made.add(p);
      }
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  for (const p of lower.keys()) {
    if (!p || seen.has(p)) continue;
    const up = dirname(p) === '.' ? '' : dirname(p);
    // its parent went (one whiteout there is enough), or became a file (which hides it already)
    if (up && !(seen.has(up) && lstatSync(join(rootfs, up)).isDirectory())) continue;
    parents(p);
    writeWhiteout(join(out, p));
  }
}

function copyEntry(from: string, to: string, st: Stats): void {
  if (st.isDirectory()) mkdirSync(to, { recursive: true });
  else if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
  else if (st.isFile()) copyFileSync(from, to);
  else return; // sockets, fifos, devices: not part of an image
  try {
    lchownSync(to, st.uid, st.gid);
  } catch {
    // an id outside this user namespace's map (no subordinate range): the file stays ours
  }
  if (!st.isSymbolicLink()) {
    chmodSync(to, st.mode & 0o7777);
    utimesSync(to, st.atime, st.mtime);
  }
}
