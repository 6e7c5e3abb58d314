/**
 * Ready when an HTTP request to a published port, made from the host as the tests will make it,
 * gets the expected answer. Its own requests rather than wait-on: the failure message needs what
 * each attempt saw (refused, reset, which status, which body), and wait-on reports only that it
 * gave up.
 */
import { probe, type ProbeResponse } from './http-request.js';
import { notYet, pollUntilReady, READY, attemptSignal, formatDuration, isAttemptTimeout, firstLine, type Attempt } from './poll.js';
import type { WaitContext, WaitStrategy, WaitSubject, WaitTarget } from './types.js';
import { checkPort, checkPositiveMs, invalidArgument } from './validate.js';

const CALL = 'Wait.forHttp';
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** enough of a body to show in a message or to see why it did not match */
const BODY_SHOWN = 200;

export interface HttpWaitOptions {
  /** the status to expect, or a test of it; default any 2xx. Redirects are not followed: a 3xx is what the server said. */
  status?: number | ((status: number) => boolean);
  /** the body must match this pattern, contain this text, or pass this test */
  body?: RegExp | string | ((body: string) => boolean | Promise<boolean>);
  /** default GET */
  method?: string;
  headers?: Record<string, string>;
  /** how long one request may take before it counts as a failed attempt; default 5 s */
  requestTimeoutMs?: number;
  /** HTTPS instead of HTTP */
  tls?: boolean;
  /** with `tls`: accept any certificate (a test server's self-signed one) */
  insecure?: boolean;
}

export class HttpWaitStrategy implements WaitStrategy {
  private readonly path: string;
  private readonly port: number;
  private readonly method: string;
  private readonly headers: Record<string, string>;
  private readonly requestTimeoutMs: number;
  private readonly status: number | ((status: number) => boolean) | undefined;
  private readonly body: RegExp | string | ((body: string) => boolean | Promise<boolean>) | undefined;
  private readonly tls: boolean;
  private readonly insecure: boolean;

  constructor(path: string, port: number, options: HttpWaitOptions = {}) {
    if (typeof path !== 'string') throw invalidArgument(CALL, 'path', `must be a string like "/health", got ${typeof path}`);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
      throw invalidArgument(CALL, 'path', `must be a path on the container's port, like "/health", not a URL: ${path}`, `${CALL}("/health", 8080) asks http://<host>:<published port of 8080>/health`);
    }
    this.path = path.startsWith('/') ? path : `/${path}`;
    this.port = checkPort(CALL, 'port', port);
    const { status, body, method = 'GET', headers = {}, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, tls = false, insecure = false } = options;
    if (status !== undefined && typeof status !== 'function' && !(Number.isInteger(status) && status >= 100 && status <= 599)) {
      throw invalidArgument(CALL, 'options.status', `must be an HTTP status from 100 to 599 or a function of the status, got ${String(status)}`);
    }
    if (body !== undefined && !(body instanceof RegExp) && typeof body !== 'function' && (typeof body !== 'string' || body === '')) {
      throw invalidArgument(CALL, 'options.body', 'must be a RegExp, a non-empty string or a function of the body');
    }
    if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) throw invalidArgument(CALL, 'options.method', `must be an HTTP method like "GET", got ${String(method)}`);
    if (typeof headers !== 'object' || headers === null || Object.values(headers).some((v) => typeof v !== 'string')) {
      throw invalidArgument(CALL, 'options.headers', 'must be an object of header names to string values');
    }
    this.status = status;
    this.body = body instanceof RegExp ? withoutState(body) : body;
    this.method = method.toUpperCase();
    this.headers = { ...headers };
    this.requestTimeoutMs = checkPositiveMs(CALL, 'options.requestTimeoutMs', requestTimeoutMs);
    this.tls = tls === true;
    this.insecure = insecure === true;
  }

  describe(subject?: WaitSubject): string {
    const url = subject ? this.urlOrUndefined(subject.target) : undefined;
    const where = url ? `${url} (container port ${this.port})` : `container port ${this.port} ${this.path}`;
    const body =
      this.body === undefined
        ? ''
        : this.body instanceof RegExp
          ? ` with a body matching ${this.body}`
          : typeof this.body === 'function'
            ? ' with a body options.body accepts'
            : ` with a body containing ${JSON.stringify(this.body)}`;
    return `${this.tls ? 'HTTPS' : 'HTTP'} ${this.method} ${where} → ${this.expectedStatus()}${body}`;
  }

  async wait(ctx: WaitContext): Promise<void> {
    const url = this.url(ctx.target); // not published is a mistake no waiting mends
    await pollUntilReady(ctx, (signal) => this.attempt(ctx.target, url, signal));
  }

  private async attempt(target: WaitTarget, url: string, parent: AbortSignal): Promise<Attempt> {
    const { signal, done } = attemptSignal(parent, this.requestTimeoutMs);
    try {
      const res = await probe({ url, method: this.method, headers: this.headers, insecure: this.insecure, signal });
      return await this.judge(res);
    } catch (e) {
      if (isAttemptTimeout(signal)) return notYet(`no response within ${formatDuration(this.requestTimeoutMs)}`, `a slow first answer? raise options.requestTimeoutMs (now ${this.requestTimeoutMs})`);
      if (parent.aborted) throw parent.reason;
      const [saw, hint] = requestFailure(e);
      return saw === RESET ? resetInside(target, this.port) : notYet(saw, hint);
    } finally {
      done();
    }
  }

  private async judge(res: ProbeResponse): Promise<Attempt> {
    if (!this.statusAccepted(res.status)) {
      const start = firstLine(await res.start(BODY_SHOWN), BODY_SHOWN);
      return notYet(`status ${res.status}${start ? `: ${JSON.stringify(start)}` : ''}`, statusHint(res.status, this.path));
    }
    if (this.body === undefined) {
      res.cancel();
      return READY;
    }
    const text = await res.text();
    if (await this.bodyMatches(text)) return READY;
    return notYet(`status ${res.status}, but the body does not match: ${JSON.stringify(firstLine(text, BODY_SHOWN))}`);
  }

  private url(target: WaitTarget): string {
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    return `${this.tls ? 'https' : 'http'}://${host}:${target.port(this.port)}${this.path}`;
  }

  private urlOrUndefined(target: WaitTarget): string | undefined {
    try {
      return this.url(target);
    } catch {
      return undefined;
    }
  }

  private statusAccepted(status: number): boolean {
    if (this.status === undefined) return status >= 200 && status < 300;
    return typeof this.status === 'number' ? status === this.status : this.status(status);
  }

  private expectedStatus(): string {
    if (this.status === undefined) return '2xx';
    if (typeof this.status === 'number') return String(this.status);
    return 'a status options.status accepts';
  }

  private async bodyMatches(text: string): Promise<boolean> {
    const body = this.body!;
    if (body instanceof RegExp) return body.test(text);
    if (typeof body === 'function') return Boolean(await body(text));
    return text.includes(body);
  }
}

/** A /g or /y pattern remembers where it last matched: a second test of the same body could fail. */
function withoutState(re: RegExp): RegExp {
  return re.global || re.sticky ? new RegExp(re.source, re.flags.replace(/[gy]/g, '')) : re;
}

function statusHint(status: number, path: string): string | undefined {
  if (status === 404) return `does ${path} exist on this server? give the path of its health or ready endpoint`;
  if (status >= 300 && status < 400) return 'redirects are not followed: wait for the final path, or accept the status with options.status';
  if (status === 401 || status === 403) return 'the endpoint wants credentials: pass them with options.headers, or wait for a public endpoint';
  return undefined;
}

const RESET = 'connection reset before an answer';

function requestFailure(e: unknown): [string, string?] {
  const err = e as { code?: string; message?: string };
  const code = err.code;
  if (code === 'ECONNREFUSED') return ['connection refused', 'the host side of the published port is gone: is the container stopping?'];
  if (code === 'ECONNRESET' || code === 'EPIPE') return [RESET];
  if (code?.startsWith('ERR_TLS') || code?.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return [`TLS: ${code} ${firstLine(err.message ?? '')}`, 'a test certificate? accept it with options.insecure (Testcontainers: allowInsecure())'];
  }
  if (code === 'EPROTO') return [`TLS handshake failed: ${firstLine(err.message ?? '')}`, 'does the port speak TLS? drop options.tls for plain HTTP'];
  return [`request failed: ${code ? `${code} ` : ''}${firstLine(err.message ?? String(e))}`];
}

/**
 * The host side of a published port accepts, then drops the connection when nothing inside does:
 * the ports that do listen inside usually explain why (the service took another port).
 */
async function resetInside(target: WaitTarget, port: number): Promise<Attempt> {
  const inside = await target.listening().catch(() => undefined);
  if (!inside) return notYet(`${RESET} (nothing listening on port ${port} inside yet?)`);
  if (inside.includes(port)) return notYet(`${RESET}, though port ${port} listens inside the container`);
  if (!inside.length) return notYet(`${RESET}: nothing listens inside the container yet`);
  return notYet(
    `${RESET}: port ${port} does not listen inside the container; ${inside.join(', ')} ${inside.length === 1 ? 'does' : 'do'}`,
    `is ${inside.join(' or ')} the port of the service? wait for it (and publish it), or configure the service to listen on ${port}`,
  );
}
