/**
 * When to try a registry request again, and how long to wait: 429 (honouring Retry-After), 5xx
 * and dropped connections are retried with exponential backoff and full jitter; a refused
 * connection or an unknown host is not: the registry is unreachable and waiting will not help.
 */

export interface RetryPolicy {
  /** attempts after the first */
  retries: number;
  /** first backoff ceiling; doubles each attempt */
  baseDelayMs: number;
  maxDelayMs: number;
  /** the longest Retry-After honoured; longer ones fail instead of stalling a test run */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 3, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

/** 429 and the 5xx that mean "try later" (not 501 Not Implemented / 505). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/** Retry-After (seconds or an HTTP date) in ms, or undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Full jitter: a random wait between 0 and min(max, base·2^attempt); Retry-After wins when given. */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const TRANSIENT = new Set([
  'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'ENETRESET',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

export interface NetworkFailure {
  kind: 'unreachable' | 'transient' | 'other';
  /** the system or undici error code, when there is one */
  code: string | undefined;
  /** a short description for messages, e.g. "ECONNREFUSED" or "other side closed" */
  reason: string;
}

/** What a fetch rejection means; undici hides the system error in `cause` (or in an AggregateError). */
export function classifyNetworkError(error: unknown): NetworkFailure {
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return { kind: error.name === 'TimeoutError' ? 'transient' : 'other', code: error.name, reason: error.message };
  }
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  let message: string | undefined;
  while (queue.length) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { code, cause, errors } = e as { code?: unknown; cause?: unknown; errors?: unknown };
    const text = (e as { message?: unknown }).message;
    if (typeof text === 'string' && text && text !== 'fetch failed') message ??= text;
    if (typeof code === 'string') {
      if (UNREACHABLE.has(code)) return { kind: 'unreachable', code, reason: code };
      if (TRANSIENT.has(code)) return { kind: 'transient', code, reason: code === 'UND_ERR_SOCKET' ? (text as string) || code : code };
    }
    if (text === 'bad port') return { kind: 'unreachable', code: undefined, reason: 'port blocked by fetch' };
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
    if (cause) queue.push(cause);
  }
  // "fetch failed" with nothing we know underneath: most likely a dropped socket
  const isFetchFailure = error instanceof TypeError && error.message === 'fetch failed';
  return { kind: isFetchFailure ? 'transient' : 'other', code: undefined, reason: message ?? String(error) };
}
