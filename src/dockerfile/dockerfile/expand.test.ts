import { describe, expect, it } from 'vitest';
import { expandWord, expandWords, ExpansionError } from './expand.js';

const env: Record<string, string> = { A: 'apple', EMPTY: '', SPACED: 'one two', PATHV: '/usr/local/bin:/usr/bin', FILE: 'archive.tar.gz' };
const lookup = (n: string) => env[n];

describe('expandWord', () => {
  it.each([
    ['$A', 'apple'],
    ['${A}', 'apple'],
    ['x${A}y', 'xappley'],
    ['$A$A', 'appleapple'],
    ['$UNSET', ''],
    ['${UNSET:-default}', 'default'],
    ['${EMPTY:-default}', 'default'],
    ['${EMPTY-default}', ''],
    ['${UNSET-default}', 'default'],
    ['${A:-default}', 'apple'],
    ['${A:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${UNSET:-${A}}', 'apple'],
    ['${UNSET:-"a b"}', 'a b'],
    ["'$A'", '$A'],
    ['"$A"', 'apple'],
    ['"${A} and $A"', 'apple and apple'],
    ['\\$A', '$A'],
    ['"\\$A"', '$A'],
    ['"a\\b"', 'a\\b'],
    ['"a\\"b"', 'a"b'],
    ['a\\ b', 'a b'],
    ['$', '$'],
    ['a$', 'a$'],
    ['$-x', '$-x'],
    ['$1', ''],
    ['hello world', 'hello world'],
    ['${FILE%.gz}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${PATHV#/usr/local/bin:}', '/usr/bin'],
    ['""', ''],
  ])('%s → %s', (input, out) => {
    expect(expandWord(input, lookup)).toBe(out);
  });

  it('uses the escape character the directive chose', () => {
    expect(expandWord('C:\\dir`$A', lookup, '`')).toBe('C:\\dir$A');
    expect(expandWord('"`$A"', lookup, '`')).toBe('$A');
  });

  it('records which variables were used', () => {
    const used = new Set<string>();
    expandWord('$A ${B:-x} ${C:+y}', lookup, '\\', used);
    expect([...used].sort()).toEqual(['A', 'B', 'C']);
  });

  it.each([
    ['${A', /missing '}'/],
    ['${}', /bad substitution/],
    ['"open', /closing "/],
    ["'open", /closing '/],
    ['${UNSET:?must be set}', /UNSET: must be set/],
    ['${EMPTY:?}', /EMPTY: is not set or empty/],
    ['${A/x/y}', /unsupported modifier \//],
  ])('%s fails', (input, message) => {
    expect(() => expandWord(input, lookup)).toThrow(ExpansionError);
    expect(() => expandWord(input, lookup)).toThrow(message);
  });
});

describe('expandWords', () => {
  it.each([
    ['80 443', ['80', '443']],
    ['$SPACED three', ['one', 'two', 'three']],
    ['"$SPACED" three', ['one two', 'three']],
    ['  a   b  ', ['a', 'b']],
    ['"" x', ['', 'x']],
    ['$EMPTY x', ['x']],
  ])('%s → %j', (input, out) => {
    expect(expandWords(input, lookup)).toEqual(out);
  });
});
