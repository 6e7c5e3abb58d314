import { describe, expect, it } from 'vitest';
import { DetachKeys } from './user-terminal.js';

const scan = (keys: DetachKeys, s: string) => {
  const r = keys.scan(Buffer.from(s, 'latin1'));
  return [r.data.toString('latin1'), r.detach] as const;
};

describe('the detach keys (Ctrl-P Ctrl-Q)', () => {
  it('detach when typed together or across reads, sending what came before', () => {
    expect(scan(new DetachKeys(), 'ls\x10\x11rest')).toEqual(['ls', true]);
    const k = new DetachKeys();
    expect(scan(k, 'a\x10')).toEqual(['a', false]); // Ctrl-P held back until the next key
    expect(scan(k, '\x11')).toEqual(['', true]);
  });

  it('let a Ctrl-P that does not start the sequence through, in order', () => {
    const k = new DetachKeys();
    expect(scan(k, '\x10')).toEqual(['', false]);
    expect(scan(k, 'x')).toEqual(['\x10x', false]);
    expect(scan(new DetachKeys(), '\x10\x10\x11')).toEqual(['\x10', true]);
    expect(scan(new DetachKeys(), '\x11\x03\x04')).toEqual(['\x11\x03\x04', false]);
  });
});
