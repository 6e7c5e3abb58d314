import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildContext, contextRelative } from './context.js';

let dir: string;
const fail = (message: string): never => {
  throw new Error(message);
};

function write(rel: string, content = rel): void {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), content);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mayfly-ctx-'));
  for (const f of ['Dockerfile', 'package.json', 'package-lock.json', 'src/a.ts', 'src/lib/b.ts', 'node_modules/x/index.js', 'logs/keep.log', 'logs/other.log', '.env', 'README.md']) write(f);
  symlinkSync('/etc/passwd', join(dir, 'src', 'outside-link'));
  writeFileSync(join(dir, '.dockerignore'), 'node_modules\n.env\nlogs\n!logs/keep.log\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BuildContext', () => {
  it('lists what .dockerignore lets in, parents first', () => {
    const ctx = new BuildContext(dir);
    expect(ctx.entries().map((e) => `${e.kind[0]} ${e.rel}`)).toEqual([
      'f .dockerignore',
      'f Dockerfile',
      'f README.md',
      'd logs',
      'f logs/keep.log',
      'f package-lock.json',
      'f package.json',
      'd src',
      'f src/a.ts',
      'd src/lib',
      'f src/lib/b.ts',
      's src/outside-link',
    ]);
    expect(ctx.find('src/outside-link')).toMatchObject({ kind: 'symlink', linkTarget: '/etc/passwd' });
  });

  it('resolves sources, wildcards and the root; refuses what is missing, excluded or outside', () => {
    const ctx = new BuildContext(dir);
    expect(ctx.resolve('package*.json', fail).map((s) => s.entry.rel)).toEqual(['package-lock.json', 'package.json']);
    expect(ctx.resolve('./src/', fail)[0]!.below.map((e) => e.rel)).toEqual(['src/a.ts', 'src/lib', 'src/lib/b.ts', 'src/outside-link']);
    expect(ctx.resolve('.', fail)[0]!.entry.rel).toBe('');
    expect(() => ctx.resolve('nothing', fail)).toThrow(/nothing does not exist in the build context/);
    expect(() => ctx.resolve('.env', fail)).toThrow(/\.env is excluded by .*\.dockerignore/);
    expect(() => ctx.resolve('*.none', fail)).toThrow(/no file in the build context matches \*\.none/);
    expect(() => ctx.resolve('../secret', fail)).toThrow(/outside the build context/);
  });

  it('the content key follows content and modes, not ignored files', () => {
    const key = () => {
      const ctx = new BuildContext(dir);
      return ctx.contentKey(ctx.resolve('.', fail));
    };
    const first = key();
    write('node_modules/x/index.js', 'changed');
    write('logs/other.log', 'changed');
    write('.env', 'SECRET=2');
    expect(key()).toBe(first);
    write('src/a.ts', 'changed');
    const second = key();
    expect(second).not.toBe(first);
    write('src/a.ts', 'src/a.ts');
    expect(key()).toBe(first);
  });

  it('prefers <Dockerfile>.dockerignore beside the Dockerfile', () => {
    mkdirSync(join(dir, 'build'), { recursive: true });
    writeFileSync(join(dir, 'build', 'app.Dockerfile'), 'FROM x\n');
    writeFileSync(join(dir, 'build', 'app.Dockerfile.dockerignore'), 'src\n');
    const ctx = new BuildContext(dir, join(dir, 'build', 'app.Dockerfile'));
    expect(ctx.ignoreFile).toBe(join(dir, 'build', 'app.Dockerfile.dockerignore'));
    expect(ctx.find('src')).toBeUndefined();
    expect(ctx.find('node_modules')).toBeDefined();
  });
});

describe('contextRelative', () => {
  it.each([
    ['.', ''],
    ['/', ''],
    ['./a/b/', 'a/b'],
    ['/a/../b', 'b'],
    ['a/./b', 'a/b'],
  ])('%s → %s', (source, rel) => {
    expect(contextRelative(source, fail)).toBe(rel);
  });
  it('refuses a way out', () => {
    expect(() => contextRelative('a/../../x', fail)).toThrow(/outside the build context/);
  });
});
