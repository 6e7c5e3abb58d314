import { describe, expect, it } from 'vitest';
import { parseChallenges, pickChallenge, repositoryScope, TokenCache } from './auth.js';

describe('parseChallenges', () => {
  it('reads a Distribution Bearer challenge with a comma inside the scope', () => {
    expect(
      parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push"'),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull,push' },
      },
    ]);
  });
  it('reads Basic, unquoted values, spaces and several challenges', () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseChallenges('Basic realm=reg , Bearer realm="http://a/t", error="invalid_token"')).toEqual([
      { scheme: 'basic', params: { realm: 'reg' } },
      { scheme: 'bearer', params: { realm: 'http://a/t', error: 'invalid_token' } },
    ]);
    expect(parseChallenges('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
    expect(parseChallenges('bearer realm="a\\"b"')).toEqual([{ scheme: 'bearer', params: { realm: 'a"b' } }]);
  });
  it('prefers Bearer with a realm', () => {
    expect(pickChallenge('Basic realm=x, Bearer realm="http://a/t"')?.scheme).toBe('bearer');
    expect(pickChallenge('Basic realm=x, Bearer service=y')?.scheme).toBe('basic');
    expect(pickChallenge('Negotiate')).toBeUndefined();
    expect(pickChallenge(null)).toBeUndefined();
  });
});

describe('TokenCache', () => {
  it('keeps a token per scope until shortly before it expires', () => {
    let now = 1_000_000;
    const cache = new TokenCache(() => now);
    const challenge = { scheme: 'bearer', params: { realm: 'http://a/t', service: 's' } };
    const pull = TokenCache.key(challenge, [repositoryScope('a/b', ['pull'])]);
    const push = TokenCache.key(challenge, [repositoryScope('a/b', ['pull', 'push'])]);
    cache.set(pull, 'T1');
    expect(cache.get(pull)).toBe('T1');
    expect(cache.get(push)).toBeUndefined();
    now += 53_000;
    expect(cache.get(pull)).toBe('T1');
    now += 2_000; // past 90 % of the default 60 s
    expect(cache.get(pull)).toBeUndefined();
    cache.set(push, 'T2', 300);
    now += 200_000;
    expect(cache.get(push)).toBe('T2');
    cache.delete(push);
    expect(cache.get(push)).toBeUndefined();
  });
  it('orders scopes in the key', () => {
    const c = { scheme: 'bearer', params: { realm: 'r' } };
    expect(TokenCache.key(c, ['b', 'a'])).toBe(TokenCache.key(c, ['a', 'b']));
  });
});
