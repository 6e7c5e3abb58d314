import { describe, expect, it } from 'vitest';
import { IgnoreRules, parseIgnoreFile } from './dockerignore.js';

const rules = (text: string) => new IgnoreRules(parseIgnoreFile(text));

describe('parseIgnoreFile', () => {
  it('cleans patterns, drops comments and blanks, reads exceptions', () => {
    expect(parseIgnoreFile('# comment\n\n /node_modules/ \n./dist\n! keep.md\n a/../b\n').map((p) => [p.pattern, p.exception])).toEqual([
      ['node_modules', false],
      ['dist', false],
      ['keep.md', true],
      ['b', false],
    ]);
  });
});

describe('.dockerignore rules', () => {
  it.each([
    // [patterns, path, ignored]
    ['node_modules', 'node_modules', true],
    ['node_modules', 'node_modules/x/index.js', true],
    ['node_modules', 'src/node_modules', false],
    ['**/node_modules', 'src/node_modules/x', true],
    ['**/node_modules', 'node_modules', true],
    ['*.md', 'README.md', true],
    ['*.md', 'docs/README.md', false],
    ['**/*.md', 'docs/deep/README.md', true],
    ['docs/**', 'docs/a/b', true],
    // the directory itself stays (empty), as in Docker
    ['docs/**', 'docs', false],
    ['docs/**/*.png', 'docs/a/b/c.png', true],
    ['docs/**/*.png', 'docs/c.png', true],
    ['temp?', 'temp1', true],
    ['temp?', 'temp12', false],
    ['.env', '.env', true],
    ['.env*', '.env.local', true],
    ['*\n!README.md', 'README.md', false],
    ['*\n!README.md', 'src/x.ts', true],
    ['*.md\n!README*.md\nREADME-secret.md', 'README-secret.md', true],
    ['*.md\n!README*.md\nREADME-secret.md', 'README-public.md', false],
    // order matters: a later exclusion wins over an earlier exception
    ['!keep.txt\n*.txt', 'keep.txt', true],
    // an exception inside an excluded directory brings the file back
    ['logs\n!logs/keep.log', 'logs/keep.log', false],
    ['logs\n!logs/keep.log', 'logs/other.log', true],
    ['[a-c]at', 'bat', true],
    ['[!a-c]at', 'bat', false],
    ['[!a-c]at', 'rat', true],
    ['Dockerfile', 'Dockerfile', true],
    ['', 'anything', false],
  ])('%j ignores %s: %s', (text, path, ignored) => {
    expect(rules(text).ignores(path)).toBe(ignored);
  });

  it('knows when an excluded directory must still be entered', () => {
    expect(rules('logs').mayIncludeBelow('logs')).toBe(false);
    expect(rules('logs\n!logs/keep.log').mayIncludeBelow('logs')).toBe(true);
    expect(rules('logs\n!other/x').mayIncludeBelow('logs')).toBe(false);
    expect(rules('*\n!**/*.ts').mayIncludeBelow('src')).toBe(true);
  });
});
