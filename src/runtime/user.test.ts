import { describe, expect, it } from 'vitest';
import { resolveUser } from './user.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www:/var/www:/bin/sh\napp:x:999:998:app:/home/app:/bin/sh\n';
const group = 'root:x:0:\nwww-data:x:33:\nappgrp:x:998:\nextra:x:1234:app,other\ndocker:x:1500:other\n';

describe('resolveUser', () => {
  it.each([
    ['root', { uid: 0, gid: 0, groups: [0], home: '/root' }],
    ['0', { uid: 0, gid: 0, groups: [0], home: '/root' }],
    ['app', { uid: 999, gid: 998, groups: [998, 1234], home: '/home/app' }],
    ['999', { uid: 999, gid: 998, groups: [998, 1234], home: '/home/app' }],
    ['app:www-data', { uid: 999, gid: 33, groups: [33], home: '/home/app' }],
    ['app:4242', { uid: 999, gid: 4242, groups: [4242], home: '/home/app' }],
    ['4321', { uid: 4321, gid: 0, groups: [0], home: '/' }],
    ['4321:77', { uid: 4321, gid: 77, groups: [77], home: '/' }],
  ])('%s', (spec, expected) => expect(resolveUser(spec, passwd, group)).toEqual(expected));

  it('names the unknown user or group', () => {
    expect(() => resolveUser('ghost', passwd, group)).toThrow(/unable to find user ghost/);
    expect(() => resolveUser('app:ghosts', passwd, group)).toThrow(/unable to find group ghosts/);
  });

  it('works without passwd and group files (scratch images)', () => {
    expect(resolveUser('1000:1000', '', '')).toEqual({ uid: 1000, gid: 1000, groups: [1000], home: '/' });
  });
});
