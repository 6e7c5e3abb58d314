import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../../core/errors.js';
import { MediaType, type ImageIndex } from './media-types.js';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectManifest } from './platform.js';

const entry = (digit: string, platform?: { os: string; architecture: string; variant?: string }, mediaType: string = MediaType.OciManifest) => ({
  mediaType,
  digest: `sha256:${digit.repeat(64)}`,
  size: 100,
  ...(platform ? { platform } : {}),
});

const index: ImageIndex = {
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    entry('0', { os: 'linux', architecture: 'amd64' }, 'application/vnd.example.unknown+json'),
    entry('1', { os: 'linux', architecture: 'amd64' }),
    entry('2', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    entry('3', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    entry('4', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    entry('5', { os: 'unknown', architecture: 'unknown' }),
    entry('6', { os: 'linux', architecture: 'amd64' }, MediaType.DockerManifest),
  ],
};

describe('hostPlatform', () => {
  it.each([
    ['x64', { os: 'linux', architecture: 'amd64' }],
    ['arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['arm', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['s390x', { os: 'linux', architecture: 's390x' }],
  ])('maps Node %s to Go names', (arch, expected) => {
    expect(hostPlatform(arch, 'linux')).toEqual(expected);
  });
});

describe('parsePlatform / formatPlatform', () => {
  it('round-trips', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(formatPlatform(parsePlatform('linux/amd64'))).toBe('linux/amd64');
  });
  it.each(['linux', 'linux/', 'linux/arm/v7/x', 'linux/arm/'])('rejects %s', (text) => {
    expect(() => parsePlatform(text)).toThrow(/invalid platform/);
  });
});

describe('platformMatches', () => {
  it.each([
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' }, true],
    [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }, true],
    [{ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm', variant: 'v6' }, false],
    [{ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm' }, true],
    [{ os: 'linux', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64' }, false],
    [{ os: 'linux', architecture: 'x86_64' }, { os: 'linux', architecture: 'amd64' }, true],
  ])('%o vs %o → %s', (wanted, offered, expected) => {
    expect(platformMatches(wanted, offered)).toBe(expected);
  });
});

describe('selectManifest', () => {
  it('takes the first match of a known media type', () => {
    expect(selectManifest(index, { os: 'linux', architecture: 'amd64' }, 'img').digest).toBe(`sha256:${'1'.repeat(64)}`);
  });
  it('matches variants', () => {
    expect(selectManifest(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'img').digest).toMatch(/^sha256:3/);
    expect(selectManifest(index, { os: 'linux', architecture: 'arm64' }, 'img').digest).toMatch(/^sha256:4/);
  });
  it('lists the available platforms when nothing matches', () => {
    let error: unknown;
    try {
      selectManifest(index, { os: 'linux', architecture: 'riscv64' }, 'reg/app:1');
    } catch (e) {
      error = e;
    }
    expect(isMayflyError(error, 'PLATFORM_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain('reg/app:1 has no image for linux/riscv64');
    expect((error as Error).message).toContain('linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8)');
  });
});
