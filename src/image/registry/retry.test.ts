import { describe, expect, it } from 'vitest';
import { backoffDelay, classifyNetworkError, DEFAULT_RETRY_POLICY, isRetryableStatus, parseRetryAfter } from './retry.js';

describe('retry decisions', () => {
  it('retries 429 and 5xx, not 4xx or 501', () => {
    expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 501].some(isRetryableStatus)).toBe(false);
  });

  it('reads Retry-After in seconds and as a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('backs off exponentially with jitter, capped, and honours Retry-After', () => {
    const p = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, p, undefined, () => 0)).toBe(50);
    expect(backoffDelay(0, p, undefined, () => 1)).toBe(100);
    expect(backoffDelay(3, p, undefined, () => 1)).toBe(800);
    expect(backoffDelay(10, p, undefined, () => 1)).toBe(1000);
    expect(backoffDelay(0, p, 2500)).toBe(2500);
    expect(backoffDelay(0, { ...p, maxRetryAfterMs: 1000 }, 2500)).toBe(1000);
  });

  it('tells an unreachable registry from a dropped connection', () => {
    const wrap = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });
    expect(classifyNetworkError(wrap(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))))
      .toMatchObject({ kind: 'unreachable', code: 'ECONNREFUSED' });
    expect(classifyNetworkError(wrap(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).kind).toBe('unreachable');
    expect(classifyNetworkError(wrap(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }))).kind).toBe('unreachable');
    expect(classifyNetworkError(wrap(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))))
      .toMatchObject({ kind: 'transient', reason: 'other side closed' });
    expect(classifyNetworkError(wrap(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).kind).toBe('transient');
    expect(classifyNetworkError(wrap(new Error('bad port'))).kind).toBe('unreachable');
    expect(classifyNetworkError(new DOMException('aborted', 'AbortError')).kind).toBe('other');
  });
});
