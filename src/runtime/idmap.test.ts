import { describe, expect, it } from 'vitest';
import { planIdMapping, subordinateRanges } from './idmap.js';

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
    });
  });
  it('falls back to a single id without a range or without newuidmap', () => {
    expect(planIdMapping({ ...base, user: 'carol', uid: 42 })).toMatchObject({ single: true, writer: 'direct', uids: [{ inside: 0, outside: 42, count: 1 }] });
    expect(planIdMapping({ ...base, haveNewIdMap: false })).toMatchObject({ single: true });
  });
  it('maps root to itself for a root caller', () => {
    expect(planIdMapping({ ...base, uid: 0, gid: 0 })).toMatchObject({ single: false, writer: 'direct', uids: [{ inside: 0, outside: 0, count: 65536 }] });
  });
});
