/** Small file helpers shared by the runtime, the sandbox and the image store. */
import { accessSync, constants, existsSync, lstatSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A file's text, or undefined when it is missing or unreadable (optional files, /proc entries of processes that may be gone). */
export function readTextIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Writes under a temporary name and renames, so readers in other processes never see half a file. */
export function atomicWrite(path: string, content: string | Buffer): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** The bytes of the files under `dir` (each hard-linked file once), as `du --apparent-size` counts them; 0 when missing. */
export function directorySize(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (path: string) => {
    let entries: string[];
    try {
      entries = readdirSync(path);
    } catch {
      return;
    }
    for (const name of entries) {
      const p = join(path, name);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        if (st.nlink > 1 && seen.has(key)) continue;
        seen.add(key);
        total += st.size;
      }
    }
  };
  walk(dir);
  return total;
}

/** Why a directory cannot be made at `path`: the nearest existing ancestor, and what refuses writes to it (Node's recursive mkdir reports ENOENT for a read-only parent). */
export function whyNotWritable(path: string): string | undefined {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (e) {
    return `${dir} is not writable (${(e as NodeJS.ErrnoException).code})`;
  }
}
