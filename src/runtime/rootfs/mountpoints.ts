/**
 * A small read-only layer the kernel overlay driver puts on top of an image's layers: the
 * directories and files a start mounts over (/proc, /dev, /sys, /etc/hosts, /etc/hostname,
 * /etc/resolv.conf). With it a start creates nothing in the container's upper dir — else a copy-up
 * of /etc and six new entries, each a journal write on ext4 (and as many deletes at remove).
 * One per image per sandbox, in the sandbox's run directory; /etc keeps the image's owner and mode.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isWhiteout } from '../../image/layer/whiteouts.js';

const MOUNTED_DIRS = ['proc', 'dev', 'sys'];
const ETC_FILES = ['hosts', 'hostname', 'resolv.conf'];

export class MountpointLayers {
  private readonly made = new Map<string, string>();

  constructor(private readonly dir: string) {}

  /** The layer for these image layers (bottom first), made on first use. */
  for(layers: readonly string[]): string {
    const key = layers.join('\n');
    let dir = this.made.get(key);
    if (!dir) {
      dir = join(this.dir, String(this.made.size + 1));
      make(dir, etcOf(layers));
      this.made.set(key, dir);
    }
    return dir;
  }
}

/** What the image shows at /etc: its top-most entry there (undefined: none, or deleted by a whiteout). */
function etcOf(layers: readonly string[]): Stats | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    let st: Stats;
    try {
      st = lstatSync(join(layers[i]!, 'etc'));
    } catch {
      continue;
    }
    return isWhiteout(join(layers[i]!, 'etc'), st) ? undefined : st;
  }
  return undefined;
}

function make(dir: string, etc: Stats | undefined): void {
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true, mode: 0o755 });
  for (const d of MOUNTED_DIRS) mkdirSync(join(tmp, d), { mode: 0o755 });
  // /etc only when the image's is a directory (or missing), with its owner and mode, which the
  // merged /etc takes from this top-most layer
  if (!etc || etc.isDirectory()) {
    const e = join(tmp, 'etc');
    mkdirSync(e);
    for (const f of ETC_FILES) writeFileSync(join(e, f), '', { mode: 0o644 });
    try {
      if (etc) {
        chownSync(e, etc.uid, etc.gid);
        chmodSync(e, etc.mode & 0o7777);
      }
    } catch {
      // an owner this namespace cannot give (not mapped): /etc is left to the copy-up
      rmSync(e, { recursive: true, force: true });
    }
  }
  renameSync(tmp, dir);
}
