import { describe, expect, it } from 'vitest';
import { parseFlags, type FlagSpec } from './args.js';

const specs: FlagSpec[] = [
  { names: ['-e', '--env'], kind: 'list', key: 'env' },
  { names: ['--rm'], kind: 'boolean', key: 'rm' },
  { names: ['--name'], kind: 'string', key: 'name' },
];

describe('parseFlags', () => {
  it('handles repeated, = and boolean flags, and stops at the command', () => {
    expect(parseFlags(['-e', 'A=1', '--env=B=2', '--rm', '--name', 'x', 'sh', '-c', 'echo --rm'], specs, 'run')).toEqual({
      flags: { env: ['A=1', 'B=2'], rm: true, name: 'x' },
      rest: ['sh', '-c', 'echo --rm'],
    });
  });
  it('stops at --', () => {
    expect(parseFlags(['--rm', '--', '--not-a-flag'], specs, 'run').rest).toEqual(['--not-a-flag']);
  });
  it('names unknown flags and missing values', () => {
    expect(() => parseFlags(['--nope'], specs, 'run')).toThrow(/unknown flag --nope/);
    expect(() => parseFlags(['--name'], specs, 'run')).toThrow(/needs a value/);
  });
});
