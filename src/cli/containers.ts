/**
 * The containers the CLI shows and drives, read from their records on disk (model/container-state):
 * the persistent ones (run, create, compose) and whatever the running keeper holds. A record that
 * says "running" but whose keeper is gone is shown as it is: exited.
 */
import { MayflyError } from '../core/errors.js';
import { mayflyHome } from '../core/paths.js';
import { runningKeeper } from '../keeper/info.js';
import { listStates, type ContainerState } from '../model/container-state.js';
import { layoutOf } from '../model/layout.js';
import { join } from 'node:path';

export interface ListedContainer extends ContainerState {
  dir: string;
}

/** Oldest first. */
export function listContainers(): ListedContainer[] {
  const home = mayflyHome();
  const l = layoutOf(home);
  const keeper = runningKeeper(home);
  const out: ListedContainer[] = [];
  for (const s of listStates(l)) {
    const ours = keeper && s.sandboxId === keeper.sandboxId;
    if (!ours && !(s.persistent && !s.autoRemove)) continue;
    const live = s.status === 'running' || s.status === 'paused';
    const view: ContainerState = live && !ours ? { ...s, status: 'exited', exitCode: s.exitCode ?? 137, ports: [], attachments: [] } : s;
    out.push({ ...view, dir: join(l.containers, s.id) });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** By name, full ID or unique ID prefix, as Docker finds containers. */
export function findContainer(ref: string, all = listContainers()): ListedContainer {
  const exact = all.find((c) => c.name === ref || c.id === ref);
  if (exact) return exact;
  const byPrefix = all.filter((c) => c.id.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0]!;
  throw new MayflyError('CONTAINER_NOT_FOUND', byPrefix.length > 1 ? `${ref} matches several containers: give more of the ID` : `no such container: ${ref}`, {
    hint: byPrefix.length > 1 ? undefined : 'mayfly ps -a lists them',
  });
}

export const isRunning = (c: ContainerState) => c.status === 'running' || c.status === 'paused';
