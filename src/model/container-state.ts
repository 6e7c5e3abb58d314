/**
 * A container's record on disk (`containers/<id>/state.json`), written by the sandbox that holds it
 * at every change: what it is (its spec), where it stands (status, exit code, times, pid), and how
 * it is reached (published ports, network addresses). `ps`, `inspect` and `logs` read it without
 * asking anyone; a persistent container's record outlives its sandbox, as a stopped Docker
 * container outlives nothing but is kept on disk until `rm`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from '../core/files.js';
import type { ContainerSpec } from './container-spec.js';
import type { Attachment, PublishedPort } from './container-types.js';
import type { Layout } from './layout.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'exited';

export interface ContainerState {
  id: string;
  name: string;
  sandboxId: string;
  createdAt: string;
  status: ContainerStatus;
  exitCode?: number;
  image?: string;
  /** the image's ID (config digest), when made from an image: `mayfly rmi` refuses to remove it meanwhile */
  imageId?: string;
  /** the layer directories it runs on, bottom first: `mayfly image prune` keeps them */
  layers?: string[];
  command: string[];
  /** the user-defined networks it is attached to: `mayfly network rm` refuses meanwhile */
  networks?: string[];
  /** the named volumes it mounts: `mayfly volume rm` refuses meanwhile */
  volumes?: string[];
  /** directories its tmpfs mounts start from (initialised-data snapshots): kept while it lives */
  seededFrom?: string[];
  /** kept on disk when its sandbox ends (a Docker-style container: `mayfly run`, `create`, compose) until removed */
  persistent?: boolean;
  /** removed as soon as it exits (`--rm`) */
  autoRemove?: boolean;
  /** the whole spec, so that another sandbox can bring the container back */
  spec?: ContainerSpec;
  /** the image's Entrypoint and Cmd as they were combined into `command` (for inspect) */
  entrypoint?: string[];
  cmd?: string[];
  startedAt?: string;
  finishedAt?: string;
  /** PID 1 as the host sees it, while it runs */
  pid?: number;
  oomKilled?: boolean;
  /** while it runs */
  ports?: PublishedPort[];
  attachments?: Attachment[];
}

/** A state record as it is written to disk. */
export function stateJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  atomicWrite(path, stateJson(value));
}

export function readState(dir: string): ContainerState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as ContainerState;
  } catch {
    return undefined;
  }
}

/** Every container record of this home (those being created have none yet). */
export function listStates(l: Layout): ContainerState[] {
  let ids: string[];
  try {
    ids = readdirSync(l.containers);
  } catch {
    return [];
  }
  const out: ContainerState[] = [];
  for (const id of ids) {
    const s = readState(join(l.containers, id));
    if (s) out.push(s);
  }
  return out;
}
