import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { siteDockerfile, siteImageName } from './static-site-image.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function site(): string {
  const d = mkdtempSync(join(tmpdir(), 'mayfly-site-'));
  dirs.push(d);
  mkdirSync(join(d, 'css'));
  writeFileSync(join(d, 'index.html'), '<h1>hi</h1>');
  writeFileSync(join(d, 'css', 'site.css'), 'h1 { color: red }');
  return d;
}

describe('the site image', () => {
  const dockerfile = siteDockerfile('nginx:1');
  const name = (folder: string, conf = 'conf') => siteImageName(dockerfile, conf, folder);

  it('Dockerfile: the base, the conf, then the site last (a site change rebuilds one layer)', () => {
    expect(dockerfile.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'FROM nginx:1',
      'COPY default.conf /etc/nginx/conf.d/default.conf',
      'COPY site/ /usr/share/nginx/site/',
    ]);
  });

  it('is named by content: the same files elsewhere or with other modes or times, the same name', () => {
    const a = site();
    const b = site();
    chmodSync(join(b, 'index.html'), 0o600);
    expect(name(a)).toMatch(/^localhost\/mayfly-static:[0-9a-f]{32}$/);
    expect(name(b)).toBe(name(a));
    const c = mkdtempSync(join(tmpdir(), 'mayfly-site-'));
    dirs.push(c);
    cpSync(a, c, { recursive: true });
    expect(name(c)).toBe(name(a));
  });

  it('another name for a changed byte, a renamed or added file, an empty folder, another conf or base', () => {
    const a = site();
    const base = name(a);
    const changes: (() => void)[] = [
      () => writeFileSync(join(a, 'index.html'), '<h1>hI</h1>'),
      () => writeFileSync(join(a, 'extra.txt'), ''),
      () => mkdirSync(join(a, 'empty')),
    ];
    const seen = new Set([base]);
    for (const change of changes) {
      change();
      const n = name(a);
      expect(seen.has(n)).toBe(false);
      seen.add(n);
    }
    const b = site();
    expect(name(b, 'other conf')).not.toBe(name(b));
    expect(siteImageName(siteDockerfile('nginx:1.27'), 'conf', b)).not.toBe(name(b));
  });

  it('follows symbolic links, as the copy into the image does; a link back up the tree is an error', () => {
    const a = site();
    const b = site();
    rmSync(join(b, 'css'), { recursive: true });
    symlinkSync(join(a, 'css'), join(b, 'css'));
    expect(name(b)).toBe(name(a));
    symlinkSync(b, join(a, 'css', 'loop'));
    expect(() => name(a)).toThrow(/links back to a folder above it/);
  });
});
