/**
 * The sandbox's part of initialised-data snapshots. A first start initialises into scratch
 * directories on a tmpfs the sandbox mounted at boot (bind-mounted into the container, so that the
 * state outlives the server's clean stop), and the quiesced state is copied from there into the
 * snapshot store. Both happen here: the files belong to the service's users.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import * as mounts from '../../sys/mounts.js';

/** Mounts the sandbox-wide scratch tmpfs (before any shim starts: every shim's mount namespace copies it). */
export function mountScratch(runDir: string): { dir: string; tmpfs: boolean } {
  const dir = join(runDir, 'scratch');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    mounts.mount('tmpfs', dir, 'tmpfs', mounts.MS.NOSUID | mounts.MS.NODEV, 'mode=0700');
    return { dir, tmpfs: true };
  } catch {
    // a first start then initialises on disk: slower, still right
    return { dir, tmpfs: false };
  }
}

export class SnapshotScratch {
  /** scratch id → who asked for it: what an owner leaves behind when it dies is discarded with it */
  private readonly owners = new Map<string, unknown>();

  constructor(private readonly root: string) {}

  /** One directory per state path, each with the mode the container's tmpfs there would have. */
  create(modes: (number | undefined)[], owner: unknown): { id: string; dirs: string[] } {
    const id = randomBytes(8).toString('hex');
    this.owners.set(id, owner);
    const dirs = modes.map((mode, i) => {
      const d = join(this.root, id, String(i));
      mkdirSync(d, { recursive: true });
      chmodSync(d, mode ?? 0o755);
      return d;
    });
    return { id, dirs };
  }

  dirs(id: string, count: number): string[] {
    return Array.from({ length: count }, (_v, i) => join(this.path(id), String(i)));
  }

  discard(id: string): void {
    rmSync(this.path(id), { recursive: true, force: true });
    this.owners.delete(id);
  }

  discardAllOf(owner: unknown): void {
    for (const [id, o] of this.owners) if (o === owner) this.discard(id);
  }

  private path(id: string): string {
    if (!/^[0-9a-f]{16}$/.test(id)) throw new MayflyError('INVALID_OPTION', `not a scratch id: ${id}`);
    return join(this.root, id);
  }
}
