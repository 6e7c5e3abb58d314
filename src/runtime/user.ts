/**
 * Resolves `--user` the way Docker does, from the container's own /etc/passwd and /etc/group:
 * `name`, `uid`, `name:group`, `uid:gid`. A numeric uid absent from passwd runs with gid 0.
 */
import { MayflyError } from '../core/errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** supplementary groups, from /etc/group memberships */
  groups: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

function parseGroup(text: string): GroupEntry[] {
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!))
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').filter(Boolean) }));
}

const isId = (s: string) => /^\d+$/.test(s);

export function resolveUser(spec: string, passwdText: string, groupText: string): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = parsePasswd(passwdText);
  const group = parseGroup(groupText);

  const entry = isId(userPart) ? passwd.find((p) => p.uid === Number(userPart)) : passwd.find((p) => p.name === userPart);
  if (!entry && !isId(userPart)) {
    throw new MayflyError('USER_NOT_FOUND', `unable to find user ${userPart}: no matching entries in the container's /etc/passwd`, {
      hint: 'use a numeric uid[:gid], or a user the image defines',
      details: { user: spec },
    });
  }
  const uid = entry ? entry.uid : Number(userPart);

  let gid = entry ? entry.gid : 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (isId(groupPart)) gid = Number(groupPart);
    else {
      const g = group.find((x) => x.name === groupPart);
      if (!g) {
        throw new MayflyError('USER_NOT_FOUND', `unable to find group ${groupPart}: no matching entries in the container's /etc/group`, {
          details: { user: spec },
        });
      }
      gid = g.gid;
    }
  }

  // An explicit group replaces the supplementary list, as with `docker run -u user:group`.
  const groups =
    groupPart !== undefined || !entry
      ? [gid]
      : [...new Set([gid, ...group.filter((g) => g.members.includes(entry.name)).map((g) => g.gid)])];
  return { uid, gid, groups, home: entry?.home || '/' };
}
