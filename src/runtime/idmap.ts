/**
 * Which host ids a user namespace maps, and writing those maps for a freshly created namespace.
 * uid 0 inside is always the caller outside; the rest comes from the caller's subordinate range
 * (/etc/subuid, /etc/subgid) so that images whose services run as uid 999 or www-data work.
 */
import { execFile } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import { readTextIfPresent } from '../files.js';
import { MayflyError } from '../errors.js';

const run = promisify(execFile);

export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

export interface IdMapping {
  uids: IdRange[];
  gids: IdRange[];
  /** how the maps are written: newuidmap/newgidmap (setuid helpers) or directly */
  writer: 'direct' | 'newidmap';
  /** a single id is mapped: chown to other ids fails inside */
  single: boolean;
}

export interface SubordinateRange {
  start: number;
  count: number;
}

/** Parses /etc/subuid or /etc/subgid content for one user (by name or numeric id). */
export function subordinateRanges(content: string, user: string, id: number): SubordinateRange[] {
  const out: SubordinateRange[] = [];
  for (const line of content.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (!who || start === undefined || count === undefined) continue;
    if (who !== user && who !== String(id)) continue;
    const s = Number(start);
    const n = Number(count);
    if (Number.isInteger(s) && Number.isInteger(n) && n > 0) out.push({ start: s, count: n });
  }
  return out;
}

/** The largest usable range mapped above id 0 (ids 1..65536 inside at most). */
function rangeAbove(ranges: SubordinateRange[]): SubordinateRange | undefined {
  return [...ranges].sort((a, b) => b.count - a.count)[0];
}

export function planIdMapping(opts: {
  uid: number;
  gid: number;
  user: string;
  subuid: string;
  subgid: string;
  haveNewIdMap: boolean;
}): IdMapping {
  const { uid, gid } = opts;
  if (uid === 0) {
    // Root already owns every id: map the first 65536 to themselves, as rootful engines do, so
    // that layers unpacked by root keep the owners written in the image.
    return {
      uids: [{ inside: 0, outside: 0, count: 65536 }],
      gids: [{ inside: 0, outside: 0, count: 65536 }],
      writer: 'direct',
      single: false,
    };
  }
  const su = rangeAbove(subordinateRanges(opts.subuid, opts.user, uid));
  const sg = rangeAbove(subordinateRanges(opts.subgid, opts.user, uid));
  if (su && sg && opts.haveNewIdMap) {
    return {
      uids: [
        { inside: 0, outside: uid, count: 1 },
        { inside: 1, outside: su.start, count: Math.min(su.count, 65536) },
      ],
      gids: [
        { inside: 0, outside: gid, count: 1 },
        { inside: 1, outside: sg.start, count: Math.min(sg.count, 65536) },
      ],
      writer: 'newidmap',
      single: false,
    };
  }
  return {
    uids: [{ inside: 0, outside: uid, count: 1 }],
    gids: [{ inside: 0, outside: gid, count: 1 }],
    writer: 'direct',
    single: true,
  };
}

export function hostIdMapping(): IdMapping {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  let user = String(uid);
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry: subordinate ranges can still be listed by numeric id
  }
  return planIdMapping({
    uid,
    gid,
    user,
    subuid: readTextIfPresent('/etc/subuid') ?? '',
    subgid: readTextIfPresent('/etc/subgid') ?? '',
    haveNewIdMap: hasSetuidHelper('/usr/bin/newuidmap') && hasSetuidHelper('/usr/bin/newgidmap'),
  });
}

function hasSetuidHelper(path: string): boolean {
  try {
    const { mode, uid } = statSync(path);
    return uid === 0 && (mode & 0o4000) !== 0;
  } catch {
    return false;
  }
}

function format(ranges: IdRange[]): string {
  return ranges.map((r) => `${r.inside} ${r.outside} ${r.count}`).join('\n') + '\n';
}

/** Writes the maps of the user namespace that process `pid` has just created. */
export async function writeIdMaps(pid: number, mapping: IdMapping): Promise<void> {
  try {
    if (mapping.writer === 'newidmap') {
      const args = (rs: IdRange[]) => [String(pid), ...rs.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)])];
      await Promise.all([run('/usr/bin/newuidmap', args(mapping.uids)), run('/usr/bin/newgidmap', args(mapping.gids))]);
      return;
    }
    writeFileSync(`/proc/${pid}/uid_map`, format(mapping.uids));
    // An unprivileged writer may map its own gid only once setgroups is denied.
    if (mapping.single && process.getuid?.() !== 0) writeFileSync(`/proc/${pid}/setgroups`, 'deny');
    writeFileSync(`/proc/${pid}/gid_map`, format(mapping.gids));
  } catch (cause) {
    throw new MayflyError('IDMAP_FAILED', `could not map user ids into the container's user namespace: ${(cause as Error).message}`, {
      cause,
      hint:
        mapping.writer === 'newidmap'
          ? 'check that /usr/bin/newuidmap and newgidmap are setuid root (apt install uidmap) and that your /etc/subuid and /etc/subgid ranges do not overlap other users'
          : 'run `mayfly doctor` to see what this machine allows',
      details: { pid, mapping },
    });
  }
}
