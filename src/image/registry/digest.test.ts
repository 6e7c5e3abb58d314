import { describe, expect, it } from 'vitest';
import { digestOf, isDigest, parseDigest } from './digest.js';

describe('digests', () => {
  it('parses sha256 and sha512, nothing else', () => {
    const hex = 'a'.repeat(64);
    expect(parseDigest(`sha256:${hex}`)).toEqual({ algorithm: 'sha256', hex });
    expect(isDigest(`sha512:${'b'.repeat(128)}`)).toBe(true);
    expect(isDigest('latest')).toBe(false);
    expect(isDigest(`sha256:${'a'.repeat(63)}`)).toBe(false);
    expect(isDigest(`sha256:${'A'.repeat(64)}`)).toBe(false);
    expect(isDigest(`md5:${'a'.repeat(32)}`)).toBe(false);
  });
  it('hashes with the algorithm of the digest it is compared with', () => {
    expect(digestOf(Buffer.from(''))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(digestOf(Buffer.from(''), `sha512:${'0'.repeat(128)}`)).toMatch(/^sha512:cf83e135/);
  });
});
