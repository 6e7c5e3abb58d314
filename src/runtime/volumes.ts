/**
 * Named volumes (`-v name:/path`): directories under $MAYFLY_HOME/volumes that outlive containers.
 * Listing and creating are plain file work for the owner; removal goes through the sandbox, since
 * the files in a volume belong to the ids of the containers that wrote them.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { readTextIfPresent } from '../core/files.js';
import { holdsOn, readState, type Layout } from '../model/home.js';

export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface VolumeInfo {
  name: string;
  /** the directory containers see */
  mountpoint: string;
  createdAt: string;
  /** live containers using it */
  usedBy: string[];
  /** given at creation (`docker volume create --label`, compose's project labels) */
  labels: Record<string, string>;
}

/** beside `_data`, so that removing the volume's directory takes them too */
const LABELS_FILE = 'labels.json';

function readLabels(dir: string): Record<string, string> {
  const text = readTextIfPresent(join(dir, LABELS_FILE));
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return {};
  }
}

function checkName(name: string): void {
  if (!VOLUME_NAME.test(name)) throw new MayflyError('INVALID_OPTION', `volume name "${name}": use letters, digits, _ . -`);
}

/** name → names of the containers that mount it (live ones in any sandbox of this home, and stopped persistent ones) */
function usage(l: Layout): Map<string, string[]> {
  const users = new Map<string, string[]>();
  let ids: string[] = [];
  try {
    ids = readdirSync(l.containers);
  } catch {
    return users;
  }
  for (const id of ids) {
    const s = readState(join(l.containers, id));
    if (!s?.volumes?.length || !holdsOn(l, s)) continue;
    for (const v of s.volumes) users.set(v, [...(users.get(v) ?? []), s.name]);
  }
  return users;
}

export function listVolumes(l: Layout): VolumeInfo[] {
  let names: string[] = [];
  try {
    names = readdirSync(l.volumes).filter((n) => VOLUME_NAME.test(n));
  } catch {
    return [];
  }
  const users = usage(l);
  return names.sort().map((name) => ({
    name,
    mountpoint: join(l.volumes, name, '_data'),
    createdAt: statSync(join(l.volumes, name)).birthtime.toISOString(),
    usedBy: users.get(name) ?? [],
    labels: readLabels(join(l.volumes, name)),
  }));
}

export function inspectVolume(l: Layout, name: string): VolumeInfo {
  const v = listVolumes(l).find((x) => x.name === name);
  if (!v) throw new MayflyError('INVALID_OPTION', `no such volume: ${name}`, { hint: 'mayfly volume ls' });
  return v;
}

/**
 * Creates it (empty) if it does not exist; volumes named at run time are created then anyway.
 * Labels are kept only by the create that made the volume, as Docker keeps the first one's.
 */
export function createVolume(l: Layout, name: string, labels: Record<string, string> = {}): VolumeInfo {
  checkName(name);
  const dir = join(l.volumes, name);
  const existed = readTextIfPresent(join(dir, LABELS_FILE)) !== undefined || dirExists(join(dir, '_data'));
  mkdirSync(join(dir, '_data'), { recursive: true, mode: 0o755 });
  if (!existed && Object.keys(labels).length) writeFileSync(join(dir, LABELS_FILE), JSON.stringify(labels));
  return inspectVolume(l, name);
}

/** The volumes that may go (none of them in use), or an error naming the users; for the sandbox to delete. */
export function volumesToRemove(l: Layout, names: string[], force = false): string[] {
  const users = usage(l);
  for (const name of names) {
    checkName(name);
    inspectVolume(l, name);
    const by = users.get(name);
    if (by?.length && !force) throw new MayflyError('CONTAINER_STATE', `volume ${name} is in use by ${by.join(', ')}`, { hint: 'remove those containers first' });
  }
  return names.map((n) => join(l.volumes, n));
}

function dirExists(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function unusedVolumes(l: Layout): string[] {
  return listVolumes(l)
    .filter((v) => !v.usedBy.length)
    .map((v) => v.name);
}
