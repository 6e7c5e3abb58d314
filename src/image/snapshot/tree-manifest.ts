/**
 * What a snapshot's data directories hold, entry by entry (path, type, mode, owner, size): written
 * when a snapshot is made, compared before each use. A missing, added or truncated file, a changed
 * type or owner, makes the snapshot corrupt: it is rebuilt, never used. (Contents are not hashed:
 * reading every byte on each start would cost more than the start itself.)
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** `[relative path, type, mode, uid, gid, size]`; type f (file), d (directory), l (symlink), o (other) */
export type ManifestEntry = [string, 'f' | 'd' | 'l' | 'o', number, number, number, number];

function entry(p: string, st: Stats): ManifestEntry {
  const type = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'o';
  return [p, type, st.mode & 0o7777, st.uid, st.gid, type === 'f' ? st.size : 0];
}

export function treeManifest(dir: string): ManifestEntry[] {
  const out: ManifestEntry[] = [entry('', lstatSync(dir))];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const e = entry(p, lstatSync(join(dir, p)));
      out.push(e);
      if (e[1] === 'd') walk(p);
    }
  };
  walk('');
  return out;
}

/**
 * The same, read concurrently through the thread pool (in no particular order): a start checks a
 * snapshot while its container starts, without holding up the sandbox's other work.
 */
export async function treeManifestAsync(dir: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [entry('', await lstat(dir))];
  const walk = async (rel: string): Promise<void> => {
    const names = await readdir(join(dir, rel));
    await Promise.all(
      names.map(async (name) => {
        const p = rel ? `${rel}/${name}` : name;
        const e = entry(p, await lstat(join(dir, p)));
        out.push(e);
        if (e[1] === 'd') await walk(p);
      }),
    );
  };
  await walk('');
  return out;
}

/** The first difference between what was recorded and what is there, in words; undefined when they agree. */
export function manifestDifference(recorded: ManifestEntry[], actual: ManifestEntry[]): string | undefined {
  const now = new Map(actual.map((e) => [e[0], e]));
  for (const e of recorded) {
    const a = now.get(e[0]);
    const name = e[0] || '.';
    if (!a) return `${name} is missing`;
    if (a[1] !== e[1]) return `${name} changed type`;
    if (a[5] !== e[5]) return `${name} has ${a[5]} bytes, ${e[5]} were recorded`;
    if (a[2] !== e[2] || a[3] !== e[3] || a[4] !== e[4]) return `${name} changed mode or owner`;
    now.delete(e[0]);
  }
  const extra = now.keys().next();
  return extra.done ? undefined : `${extra.value} was not recorded`;
}
