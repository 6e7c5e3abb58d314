/**
 * Directories the sandbox is done with. `discard` takes one out of the way with a rename; the
 * deletion waits until the sandbox has had nothing to discard for a moment (or the trash is full).
 * Why wait: on an ext4 without a journal, every inode allocation skips over the inodes deleted in
 * the last minutes of its block group, one buffer lookup each. A suite starting containers back to
 * back allocates a dozen inodes per container, and deleting the last one's meanwhile makes each
 * allocation slower than the one before (measured: most of a start's CPU time; see
 * bench/results/start-path-attempts.md). The trash lives in the sandbox's run directory, so what a
 * killed sandbox leaves there goes with the next sandbox's sweep.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

const QUIET_MS = 1000;
const MAX_WAITING = 200;

export class Trash {
  private pending: Promise<void> = Promise.resolve();
  private waiting: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private count = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** `path` is gone from where it was when this returns; its contents are deleted a little later. */
  discard(path: string): void {
    const to = join(this.dir, String(++this.count));
    try {
      renameSync(path, to);
    } catch {
      // gone already, the trash itself gone (a deleted home), another filesystem (EXDEV) or
      // something odd: delete it where it is, now (force: nothing there is fine too)
      rmSync(path, { recursive: true, force: true });
      return;
    }
    this.waiting.push(to);
    clearTimeout(this.timer);
    if (this.waiting.length >= MAX_WAITING) this.empty();
    else this.timer = setTimeout(() => this.empty(), QUIET_MS).unref();
  }

  /** Deletes everything discarded so far; resolves once that is done. */
  drain(): Promise<void> {
    this.empty();
    return this.pending;
  }

  private empty(): void {
    clearTimeout(this.timer);
    const batch = this.waiting.splice(0);
    if (!batch.length) return;
    this.pending = this.pending.then(async () => {
      for (const p of batch) await rm(p, { recursive: true, force: true }).catch(() => {});
    });
  }
}
