import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { secureJoin } from './secure-join.js';

const root = mkdtempSync(join(tmpdir(), 'securejoin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'etc/nginx'), { recursive: true });
symlinkSync('/', join(root, 'to-root'));
symlinkSync('../../../../..', join(root, 'up'));
symlinkSync('/etc', join(root, 'abs-etc'));
symlinkSync('nginx', join(root, 'etc/rel'));
symlinkSync('loop2', join(root, 'loop1'));
symlinkSync('loop1', join(root, 'loop2'));

describe('secureJoin', () => {
  it.each([
    ['/data', '/data'],
    ['/etc/nginx/conf.d', '/etc/nginx/conf.d'],
    ['../../../etc', '/etc'],
    ['/to-root/data', '/data'],
    ['/up/up/etc', '/etc'],
    ['/abs-etc/hosts', '/etc/hosts'],
    ['/etc/rel/x', '/etc/nginx/x'],
    ['/missing/../etc', '/etc'],
  ])('%s stays inside the root as %s', (path, inside) => {
    expect(secureJoin(root, path)).toBe(join(root, inside));
  });

  it('gives up on symlink loops', () => {
    expect(() => secureJoin(root, '/loop1/x')).toThrow(/too many levels/);
  });
});
