/**
 * The container's output as it arrives, for a wait that should try again the moment the service
 * says something (a database's "ready" line) instead of at its next polling tick. It only cuts a
 * pause short: readiness is still proven by the wait's own attempt, never by the line itself.
 * Watches the log file the sandbox appends each line to (inotify through fs.watch: no polling);
 * a target without one, or a file that cannot be watched, simply never wakes a pause.
 */
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { WaitTarget } from './types.js';

export interface OutputWatch {
  /** resolves at the next write (at once when one came since the last call), or when aborted */
  next(signal: AbortSignal): Promise<void>;
  close(): void;
}

export function watchOutput(target: WaitTarget): OutputWatch {
  let written = false;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  if (target.dir) {
    try {
      watcher = watch(join(target.dir, 'log.jsonl'), { persistent: false }, () => {
        written = true;
        wake?.();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // no log file (yet): the wait keeps its plain pauses
    }
  }
  return {
    next(signal) {
      if (written || signal.aborted) {
        written = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          wake = undefined;
          written = false;
          signal.removeEventListener('abort', done);
          resolve();
        };
        wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    },
    close() {
      watcher?.close();
      wake?.();
    },
  };
}
