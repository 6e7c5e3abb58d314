import { describe, expect, it } from 'vitest';
import { match, matchPaths, PatternError } from './wildcards.js';

describe('match (Go filepath.Match)', () => {
  it.each([
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['*x', 'xxx', true],
    ['package*.json', 'package.json', true],
    ['package*.json', 'package-lock.json', true],
    ['src/**', 'src/a', true],
    ['src/**', 'src/a/b', false],
    ['*.txt', 'dir/a.txt', false],
    ['[]a]', ']', true],
    ['a?', 'a/', false],
  ])('%s ~ %s = %s', (pattern, name, expected) => {
    expect(match(pattern, name)).toBe(expected);
  });

  it.each([['[', 'a'], ['[^', 'a'], ['a[', 'a'], ['*x\\', 'xxx'], ['[a-', 'a'], ['[z-a]', 'a']])('%s is a bad pattern', (pattern, name) => {
    expect(() => match(pattern, name)).toThrow(PatternError);
  });
});

describe('matchPaths', () => {
  const tree = [
    { rel: 'package.json', isDir: false },
    { rel: 'package-lock.json', isDir: false },
    { rel: 'src', isDir: true },
    { rel: 'src/a.ts', isDir: false },
    { rel: 'src/lib', isDir: true },
    { rel: 'src/lib/b.ts', isDir: false },
    { rel: 'srcmap', isDir: false },
  ];
  it.each([
    ['package*.json', ['package.json', 'package-lock.json']],
    ['src/*.ts', ['src/a.ts']],
    ['src/*', ['src/a.ts', 'src/lib']],
    ['src*', ['src', 'srcmap']],
    ['*/lib/*.ts', ['src/lib/b.ts']],
    ['nothing*', []],
  ])('%s', (pattern, expected) => {
    expect(matchPaths(pattern, tree)).toEqual(expected);
  });
});
