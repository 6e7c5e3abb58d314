/**
 * Which host ids a user namespace maps, and writing those maps for a freshly created namespace.
 * uid 0 inside is always the caller outside; the rest comes from the caller's subordinate range
 * (/etc/subuid, /etc/subgid) so that images whose services run as uid 999 or www-data work.
 */
import { execFile } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import { readTextIfPresent } from '../core/files.js';
import { MayflyError } from '../core/errors.js';
import { CAP, confinement, hasCap, liftingSetting, type Limit } from '../core/confinement.js';

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
  /** an unprivileged writer maps its own gid only once setgroups() is denied in the namespace */
  denySetgroups: boolean;
  /** why fewer ids are mapped than the caller could have (or none can be: `blocked`), and the limit to lift */
  limited?: { why: string; limit?: Limit; blocked?: boolean };
}

/** What the caller may do, from /proc/self/status and /proc/self/uid_map (confinement in a CI job's container). */
export interface CallerPowers {
  effectiveCaps: bigint;
  boundingCaps: bigint;
  noNewPrivs: boolean;
  /** how many ids from 0 up exist in the caller's own user namespace (65536+ outside containers) */
  idsFromZero: number;
}

const ALL_CAPS = (1n << 41n) - 1n;
const UNCONFINED: CallerPowers = { effectiveCaps: ALL_CAPS, boundingCaps: ALL_CAPS, noNewPrivs: false, idsFromZero: 65536 };

/** How many consecutive ids from 0 a uid_map (as read inside that namespace) provides. */
export function idsFromZero(uidMap: string): number {
  const ranges = uidMap
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((r) => r.length === 3 && r.every(Number.isFinite))
    .map(([inside, , count]) => ({ inside: inside!, count: count! }))
    .sort((a, b) => a.inside - b.inside);
  let next = 0;
  for (const r of ranges) {
    if (r.inside > next) break;
    next = Math.max(next, r.inside + r.count);
  }
  return next;
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
  powers?: CallerPowers;
}): IdMapping {
  const { uid, gid } = opts;
  const p = opts.powers ?? UNCONFINED;
  const own = (limited?: IdMapping['limited']): IdMapping => ({
    uids: [{ inside: 0, outside: uid, count: 1 }],
    gids: [{ inside: 0, outside: gid, count: 1 }],
    writer: 'direct',
    single: true,
    denySetgroups: !(uid === 0 && hasCap(p.effectiveCaps, CAP.SETGID)),
    ...(limited ? { limited } : {}),
  });
  if (uid === 0) {
    // Since Linux 5.12 mapping uid 0 of the parent namespace takes CAP_SETFCAP (file capabilities
    // written inside would count outside); without CAP_SETUID root may map nothing but itself.
    if (!hasCap(p.effectiveCaps, CAP.SETFCAP)) {
      return own({ why: 'root without CAP_SETFCAP may not map itself into a user namespace, and without CAP_SETUID no other id', limit: 'root-without-setfcap', blocked: true });
    }
    if (!hasCap(p.effectiveCaps, CAP.SETUID) || !hasCap(p.effectiveCaps, CAP.SETGID)) {
      return own({ why: 'root without CAP_SETUID and CAP_SETGID may map only itself', limit: 'root-without-setuid' });
    }
    // Root already owns every id: map the first 65536 to themselves, as rootful engines do, so
    // that layers unpacked by root keep the owners written in the image. Inside a user namespace
    // (a rootless engine's container) only the ids it has can be mapped.
    const count = Math.min(65536, p.idsFromZero);
    return {
      uids: [{ inside: 0, outside: 0, count }],
      gids: [{ inside: 0, outside: 0, count }],
      writer: 'direct',
      single: count === 1,
      denySetgroups: false,
      ...(count < 65536 ? { limited: { why: `this user namespace has only ${count} ids from 0 up` } } : {}),
    };
  }
  const su = rangeAbove(subordinateRanges(opts.subuid, opts.user, uid));
  const sg = rangeAbove(subordinateRanges(opts.subgid, opts.user, uid));
  // newuidmap is setuid root: it gets capabilities only from the bounding set, none at all under
  // no_new_privs (Kubernetes' allowPrivilegeEscalation: false); it writes the map of a namespace
  // that is not its euid's, which takes CAP_SYS_ADMIN besides CAP_SETUID/CAP_SETGID (measured in
  // a podman job container: refused with the engine's default set, granted with SYS_ADMIN added)
  const missing = [CAP.SETUID, CAP.SETGID, CAP.SYS_ADMIN].filter((c) => !hasCap(p.boundingCaps, c));
  if (su && sg && opts.haveNewIdMap && (p.noNewPrivs || missing.length)) {
    return own({
      why: p.noNewPrivs
        ? 'no_new_privs is set: the setuid newuidmap cannot map your subordinate range'
        : `the setuid newuidmap cannot map your subordinate range without ${missing.map((c) => Object.keys(CAP).find((k) => CAP[k as keyof typeof CAP] === c)).map((n) => `CAP_${n}`).join(', ')} in the bounding set`,
      limit: 'subid-helper',
    });
  }
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
      denySetgroups: false,
    };
  }
  return own({ why: su && sg ? 'newuidmap/newgidmap are missing or not setuid root' : `no range for ${opts.user} in /etc/subuid and /etc/subgid` });
}

export function callerPowers(): CallerPowers {
  const c = confinement();
  return { effectiveCaps: c.effectiveCaps, boundingCaps: c.boundingCaps, noNewPrivs: c.noNewPrivs, idsFromZero: idsFromZero(readTextIfPresent('/proc/self/uid_map') ?? '0 0 4294967295') };
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
    powers: callerPowers(),
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
  if (mapping.limited?.blocked) throw idMapBlocked(mapping);
  try {
    if (mapping.writer === 'newidmap') {
      const args = (rs: IdRange[]) => [String(pid), ...rs.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)])];
      await Promise.all([run('/usr/bin/newuidmap', args(mapping.uids)), run('/usr/bin/newgidmap', args(mapping.gids))]);
      return;
    }
    writeFileSync(`/proc/${pid}/uid_map`, format(mapping.uids));
    if (mapping.denySetgroups) writeFileSync(`/proc/${pid}/setgroups`, 'deny');
    writeFileSync(`/proc/${pid}/gid_map`, format(mapping.gids));
  } catch (cause) {
    throw new MayflyError('IDMAP_FAILED', `could not map user ids into the container's user namespace: ${(cause as Error).message}`, {
      cause,
      hint:
        mapping.writer === 'newidmap'
          ? 'check that /usr/bin/newuidmap and newgidmap are setuid root (apt install uidmap) and that your /etc/subuid and /etc/subgid ranges do not overlap other users'
          : mapping.limited?.limit
            ? liftingSetting(mapping.limited.limit)
            : 'run `mayfly doctor` to see what this machine allows',
      details: { pid, mapping },
    });
  }
}

/** The error for a caller who cannot map any id into a user namespace. */
export function idMapBlocked(mapping: IdMapping): MayflyError {
  return new MayflyError('IDMAP_FAILED', `no user id can be mapped into a user namespace: ${mapping.limited?.why ?? 'refused'}`, {
    hint: mapping.limited?.limit ? liftingSetting(mapping.limited.limit) : undefined,
  });
}
