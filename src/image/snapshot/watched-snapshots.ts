/**
 * Snapshots this process has checked against their manifest and watched ever since, so that the
 * next start of the same snapshot need not check its ~1000 files again (an lstat each: tens of ms
 * of CPU beside the server's own start on a loaded machine). The watch is set before the check:
 * one inotify watch per directory of the snapshot's data, which reports any change to the entries
 * in it (written, truncated, chmod/chown, created, deleted, renamed) and to the directory itself.
 * Any event, a watch that fails, or a manifest or data directory that is no longer the same file
 * makes the snapshot unchecked again: the next use walks it in full, as a new process does.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

interface Watched {
  /** identity of the data directory and of manifest.json when the check began */
  identity: string;
  watchers: FSWatcher[];
  /** false once anything changed since the watch began */
  intact: boolean;
}

const watched = new Map<string, Watched>();

function identity(dir: string): string {
  const data = statSync(join(dir, 'data'));
  const manifest = statSync(join(dir, 'manifest.json'));
  return `${data.dev}:${data.ino}:${manifest.ino}:${manifest.size}:${manifest.mtimeMs}`;
}

function forget(dir: string): void {
  const w = watched.get(dir);
  if (!w) return;
  for (const x of w.watchers) x.close();
  watched.delete(dir);
}

/** True when `dir` (a snapshot's directory) passed a check and nothing in its data changed since. */
export function stillIntact(dir: string): boolean {
  const w = watched.get(dir);
  if (!w) return false;
  let now: string | undefined;
  try {
    now = identity(dir);
  } catch {
    now = undefined;
  }
  if (w.intact && now === w.identity) return true;
  forget(dir);
  return false;
}

/**
 * Watches the directories of `dir`'s data (relative paths, '' the data directory itself), then
 * runs `check`; when it passes and nothing changed meanwhile, later `stillIntact` calls answer true
 * until something changes. A snapshot whose directories cannot all be watched is simply checked
 * in full every time.
 */
export async function checkAndWatch<T extends { ok: boolean }>(dir: string, directories: string[], check: () => Promise<T>): Promise<T> {
  forget(dir);
  let entry: Watched | undefined;
  try {
    entry = { identity: identity(dir), watchers: [], intact: true };
    const spoil = () => {
      entry!.intact = false;
    };
    for (const rel of directories) {
      const w = watch(join(dir, 'data', rel), { persistent: false }, spoil);
      w.on('error', spoil);
      entry.watchers.push(w);
    }
  } catch {
    for (const w of entry?.watchers ?? []) w.close();
    entry = undefined;
  }
  let kept = false;
  try {
    const result = await check();
    if (entry && result.ok && entry.intact) {
      // starts side by side check the same snapshot at once: the last to pass replaces (and closes) the others' watch
      forget(dir);
      watched.set(dir, entry);
      kept = true;
    }
    return result;
  } finally {
    if (!kept) for (const w of entry?.watchers ?? []) w.close();
  }
}
