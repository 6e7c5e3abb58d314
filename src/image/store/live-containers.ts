/**
 * The containers that hold on to images: those whose sandbox is alive (created, running or exited,
 * not yet removed), and persistent ones until they are removed. Their state.json names the image ID and the layer directories they run on.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { holdsOn, layoutOf, readState, type ContainerState } from '../../model/home.js';

export function liveContainers(home: string): ContainerState[] {
  const layout = layoutOf(home);
  let ids: string[];
  try {
    ids = readdirSync(layout.containers);
  } catch {
    return [];
  }
  const out: ContainerState[] = [];
  for (const id of ids) {
    const state = readState(join(layout.containers, id));
    if (state && holdsOn(layout, state)) out.push(state);
  }
  return out;
}
