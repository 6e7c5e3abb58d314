/** Small file helpers shared by the runtime, the sandbox and the image store. */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

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
