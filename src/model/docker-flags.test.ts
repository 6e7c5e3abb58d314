import { describe, expect, it } from 'vitest';
import { parseMountFlag, parseTmpfsFlag, parseVolumeFlag } from './docker-flags.js';

describe('flags', () => {
  it('--tmpfs', () => {
    expect(parseTmpfsFlag('/data')).toEqual({ path: '/data' });
    expect(parseTmpfsFlag('/data:size=64m,mode=1777')).toEqual({ path: '/data', size: '64m', mode: 0o1777 });
    expect(() => parseTmpfsFlag('/data:uid=3')).toThrow(/unknown option "uid"/);
    expect(parseTmpfsFlag('/data:rw,noexec,nosuid,size=65536k')).toEqual({ path: '/data', size: '65536k', noexec: true });
  });
  it('-v', () => {
    expect(parseVolumeFlag('/host:/ctr')).toEqual({ bind: { source: '/host', target: '/ctr', readonly: false } });
    expect(parseVolumeFlag('/host:/ctr:ro')).toEqual({ bind: { source: '/host', target: '/ctr', readonly: true } });
    expect(parseVolumeFlag('pgdata:/var/lib/pg')).toEqual({ volume: { name: 'pgdata', target: '/var/lib/pg', readonly: false } });
    // `-v /path`: an anonymous volume, named as Docker names them
    expect(parseVolumeFlag('/only')).toEqual({ volume: { name: expect.stringMatching(/^[0-9a-f]{64}$/), target: '/only', readonly: false, anonymous: true } });
    expect(() => parseVolumeFlag('only')).toThrow(/SOURCE:TARGET/);
    expect(() => parseVolumeFlag('/a:/b:rx')).toThrow(/ro or rw/);
  });
  it('--mount', () => {
    expect(parseMountFlag('type=bind,source=/srv,target=/app,readonly')).toEqual({ bind: { source: '/srv', target: '/app', readonly: true } });
    expect(parseMountFlag('type=bind,src=rel/dir,dst=/app', '/home/me')).toEqual({ bind: { source: '/home/me/rel/dir', target: '/app', readonly: false } });
    expect(parseMountFlag('type=volume,source=data,destination=/data,ro=true')).toEqual({ volume: { name: 'data', target: '/data', readonly: true } });
    expect(parseMountFlag('source=data,target=/data,readonly=false')).toEqual({ volume: { name: 'data', target: '/data', readonly: false } });
    expect(parseMountFlag('type=volume,target=/cache')).toEqual({ volume: { name: expect.stringMatching(/^[0-9a-f]{64}$/), target: '/cache', readonly: false, anonymous: true } });
    expect(parseMountFlag('type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1770')).toEqual({ tmpfs: { path: '/run', size: '64m', mode: 0o1770 } });
    expect(() => parseMountFlag('type=bind,target=/app')).toThrow('invalid value "type=bind,target=/app" for --mount: a bind mount needs a source');
    expect(() => parseMountFlag('type=volume,src=x')).toThrow('a target is needed');
    expect(() => parseMountFlag('type=npipe,src=x,dst=/y')).toThrow('type "npipe" is not supported (bind, volume or tmpfs)');
    expect(() => parseMountFlag('type=volume,src=x,dst=/y,volume-driver=nfs')).toThrow('unknown key "volume-driver"');
    expect(() => parseMountFlag('type=volume,src=x,dst=/y,readonly=maybe')).toThrow('readonly must be true or false');
    expect(() => parseMountFlag('type=tmpfs,dst=/y,tmpfs-mode=rwx')).toThrow('tmpfs-mode must be octal');
  });
});
