import { describe, expect, it } from 'vitest';
import { idsFromZero, planIdMapping, subordinateRanges, type CallerPowers } from './idmap.js';

const subuid = 'alice:100000:65536\n1700:300000:65536\nbob:200000:1000\n';

describe('subordinate ranges', () => {
  it('finds a user by name or by uid', () => {
    expect(subordinateRanges(subuid, 'alice', 1000)).toEqual([{ start: 100000, count: 65536 }]);
    expect(subordinateRanges(subuid, 'carol', 1700)).toEqual([{ start: 300000, count: 65536 }]);
    expect(subordinateRanges(subuid, 'nobody', 5)).toEqual([]);
  });
});

describe('planIdMapping', () => {
  const base = { uid: 1000, gid: 1000, user: 'alice', subuid, subgid: subuid, haveNewIdMap: true };
  it('maps root to the caller and the range above it', () => {
    expect(planIdMapping(base)).toEqual({
      uids: [
        { inside: 0, outside: 1000, count: 1 },
        { inside: 1, outside: 100000, count: 65536 },
      ],
      gids: [
        { inside: 0, outside: 1000, count: 1 },
        { inside: 1, outside: 100000, count: 65536 },
      ],
      writer: 'newidmap',
      single: false,
      denySetgroups: false,
    });
  });
  it('falls back to a single id without a range or without newuidmap', () => {
    expect(planIdMapping({ ...base, user: 'carol', uid: 42 })).toMatchObject({ single: true, writer: 'direct', uids: [{ inside: 0, outside: 42, count: 1 }] });
    expect(planIdMapping({ ...base, haveNewIdMap: false })).toMatchObject({ single: true });
  });
  it('maps root to itself for a root caller', () => {
    expect(planIdMapping({ ...base, uid: 0, gid: 0 })).toMatchObject({ single: false, writer: 'direct', uids: [{ inside: 0, outside: 0, count: 65536 }] });
  });

  // what a CI job's container allows (podman's and Docker's defaults keep these, --cap-drop ALL does not)
  const caps = (...n: number[]) => n.reduce((m, c) => m | (1n << BigInt(c)), 0n);
  const podmanDefault = caps(0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31);
  const host = podmanDefault | caps(21);
  const powers = (p: Partial<CallerPowers>): CallerPowers => ({ effectiveCaps: podmanDefault, boundingCaps: podmanDefault, noNewPrivs: false, idsFromZero: 65536, ...p });
  it('root in a job container with the default capabilities maps 65536 ids to themselves', () => {
    expect(planIdMapping({ ...base, uid: 0, gid: 0, powers: powers({}) })).toMatchObject({ single: false, denySetgroups: false, uids: [{ inside: 0, outside: 0, count: 65536 }] });
  });
  it('root without CAP_SETUID maps only itself (setgroups denied); without CAP_SETFCAP not even that', () => {
    const noSetuid = planIdMapping({ ...base, uid: 0, gid: 0, powers: powers({ effectiveCaps: caps(31) }) });
    expect(noSetuid).toMatchObject({ single: true, denySetgroups: true, uids: [{ inside: 0, outside: 0, count: 1 }], limited: { limit: 'root-without-setuid' } });
    const none = planIdMapping({ ...base, uid: 0, gid: 0, powers: powers({ effectiveCaps: 0n, boundingCaps: 0n }) });
    expect(none.limited).toMatchObject({ blocked: true, limit: 'root-without-setfcap' });
  });
  it('root inside a user namespace maps only the ids that namespace has', () => {
    expect(planIdMapping({ ...base, uid: 0, gid: 0, powers: powers({ idsFromZero: 1001 }) })).toMatchObject({ single: false, uids: [{ inside: 0, outside: 0, count: 1001 }] });
  });
  it('a user with a range but no usable newuidmap (a job container without CAP_SYS_ADMIN, caps dropped, no_new_privs) gets a single id and the reason', () => {
    expect(planIdMapping({ ...base, powers: powers({ boundingCaps: host, effectiveCaps: 0n }) })).toMatchObject({ single: false, writer: 'newidmap' });
    expect(planIdMapping({ ...base, powers: powers({ effectiveCaps: 0n }) })).toMatchObject({ single: true, limited: { limit: 'subid-helper', why: expect.stringContaining('CAP_SYS_ADMIN') } });
    expect(planIdMapping({ ...base, powers: powers({ boundingCaps: 0n, effectiveCaps: 0n }) })).toMatchObject({ single: true, denySetgroups: true, limited: { limit: 'subid-helper' } });
    expect(planIdMapping({ ...base, powers: powers({ boundingCaps: host, noNewPrivs: true }) })).toMatchObject({ single: true, limited: { limit: 'subid-helper', why: expect.stringContaining('no_new_privs') } });
  });
});

describe('idsFromZero', () => {
  it('counts consecutive ids from 0 across the extents of a uid_map', () => {
    expect(idsFromZero('         0          0 4294967295\n')).toBe(4294967295);
    expect(idsFromZero('0 1000 1\n1 100000 65536\n')).toBe(65537);
    expect(idsFromZero('0 1000 1\n5 100000 10\n')).toBe(1);
    expect(idsFromZero('')).toBe(0);
  });
});
