import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../core/errors.js';
import { familiarName, formatReference, parseReference, registryHost, type ImageReference } from './reference.js';

const sha = 'sha256:' + 'a1'.repeat(32);

// [input, normalized reference, familiar name]
const valid: Array<[string, string, string]> = [
  ['mongo', 'docker.io/library/mongo:latest', 'mongo:latest'],
  ['mongo:7', 'docker.io/library/mongo:7', 'mongo:7'],
  ['mongo:7.0.12-jammy', 'docker.io/library/mongo:7.0.12-jammy', 'mongo:7.0.12-jammy'],
  ['library/mongo', 'docker.io/library/mongo:latest', 'mongo:latest'],
  ['docker.io/mongo', 'docker.io/library/mongo:latest', 'mongo:latest'],
  ['docker.io/library/mongo:7', 'docker.io/library/mongo:7', 'mongo:7'],
  ['index.docker.io/library/mongo:7', 'docker.io/library/mongo:7', 'mongo:7'],
  ['index.docker.io/mongo', 'docker.io/library/mongo:latest', 'mongo:latest'],
  ['library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
  ['bitnami/redis:7.2', 'docker.io/bitnami/redis:7.2', 'bitnami/redis:7.2'],
  ['docker.io/bitnami/redis', 'docker.io/bitnami/redis:latest', 'bitnami/redis:latest'],
  [`ghcr.io/o/r@${sha}`, `ghcr.io/o/r@${sha}`, `ghcr.io/o/r@${sha}`],
  ['ghcr.io/o/r:tag', 'ghcr.io/o/r:tag', 'ghcr.io/o/r:tag'],
  ['quay.io/a/b/c:v1', 'quay.io/a/b/c:v1', 'quay.io/a/b/c:v1'],
  ['localhost:5000/x:y', 'localhost:5000/x:y', 'localhost:5000/x:y'],
  ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
  ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
  ['[::1]:5000/x:1', '[::1]:5000/x:1', '[::1]:5000/x:1'],
  [`mongo:7@${sha}`, `docker.io/library/mongo:7@${sha}`, `mongo:7@${sha}`],
  [`mongo@${sha}`, `docker.io/library/mongo@${sha}`, `mongo@${sha}`],
  ['my-registry.example.com:443/team/app:v1.2', 'my-registry.example.com:443/team/app:v1.2', 'my-registry.example.com:443/team/app:v1.2'],
  ['a__b/c-d--e/f.g_h:T_1', 'docker.io/a__b/c-d--e/f.g_h:T_1', 'a__b/c-d--e/f.g_h:T_1'],
  // "localhost:5000" alone is the image "localhost" with tag 5000, as in Docker
  ['localhost:5000', 'docker.io/library/localhost:5000', 'localhost:5000'],
];

describe('parseReference: references Docker accepts', () => {
  it.each(valid)('%s', (input, normalized, familiar) => {
    const ref = parseReference(input);
    expect(formatReference(ref)).toBe(normalized);
    expect(familiarName(ref)).toBe(familiar);
    // normalizing is idempotent
    expect(parseReference(normalized)).toEqual(ref);
  });

  it('returns the parts', () => {
    expect(parseReference('mongo')).toEqual({ registry: 'docker.io', repository: 'library/mongo', tag: 'latest' });
    expect(parseReference(`ghcr.io/o/r@${sha}`)).toEqual({ registry: 'ghcr.io', repository: 'o/r', digest: sha });
    expect(parseReference(`ghcr.io/o/r:t@${sha}`)).toEqual({ registry: 'ghcr.io', repository: 'o/r', tag: 't', digest: sha });
  });
});

// [input, a fragment of the message]
const invalid: Array<[string, string]> = [
  ['', 'empty'],
  ['Mongo', 'must be lowercase'],
  ['docker.io/Library/mongo', 'must be lowercase'],
  ['ghcr.io/Owner/repo:tag', 'must be lowercase'],
  ['mongo:', '"" is not a valid tag'],
  ['mongo:-x', 'not a valid tag'],
  ['mongo:.x', 'not a valid tag'],
  ['mongo:a/b', '"mongo:a" is not a valid registry host'],
  ['mongo:' + 'x'.repeat(129), 'not a valid tag'],
  ['mongo@sha256:abc', 'not a valid digest'],
  ['mongo@sha256:' + 'A1'.repeat(32), '64 lowercase hex digits'],
  ['mongo@sha256:' + 'a1'.repeat(33), '64 lowercase hex digits'],
  ['mongo@md5:' + 'a1'.repeat(16), 'unsupported digest algorithm "md5"'],
  [`mongo@${sha}@${sha}`, 'not a valid digest'],
  ['mongo@', 'not a valid digest'],
  ['a'.repeat(64).replace(/a/g, 'f'), 'image ID'],
  ['/mongo', 'empty path component'],
  ['mongo/', 'empty path component'],
  ['a//b', 'empty path component'],
  ['-mongo', 'not a valid repository path component'],
  ['mon go', 'not a valid'],
  ['mongo_-x', 'not a valid repository path component'],
  ['ghcr.io/', 'repository name is missing'],
  [':7', 'repository name is missing'],
  ['foo:bar/baz', '"foo:bar" is not a valid registry host'],
  ['-bad.io/x', 'not a valid registry host'],
  ['ghcr.io/' + 'a'.repeat(250), 'longer than 255'],
];

describe('parseReference: references Docker rejects', () => {
  it.each(invalid)('%j', (input, fragment) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (e) {
      error = e;
    }
    expect(isMayflyError(error, 'REFERENCE_INVALID')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`"${input}"`);
    expect(message).toContain(fragment);
  });
});

describe('registryHost', () => {
  it('maps Docker Hub to its API host and leaves others alone', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('index.docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('ghcr.io')).toBe('ghcr.io');
    expect(registryHost('localhost:5000')).toBe('localhost:5000');
  });
});

describe('formatReference', () => {
  it('writes a reference without a tag or digest as a bare name', () => {
    const ref: ImageReference = { registry: 'ghcr.io', repository: 'o/r' };
    expect(formatReference(ref)).toBe('ghcr.io/o/r');
    expect(familiarName({ registry: 'docker.io', repository: 'library/mongo' })).toBe('mongo');
  });
});
