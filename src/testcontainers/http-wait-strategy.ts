/**
 * `Wait.forHttp(path, port)` and its chain: a request from the host to the published port until the
 * answer passes every check given (`forStatusCode`, `forStatusCodeMatching`, `forResponsePredicate`;
 * none given: any 2xx). Each request is bounded by `withReadTimeout` (default 1 s); the next one
 * follows within 20–250 ms, not after a whole read timeout.
 */
import { HttpWaitStrategy as HarnessHttpWaitStrategy } from '../harness/wait/http.js';
import type { WaitStrategy as HarnessWaitStrategy } from '../harness/wait/index.js';
import { HarnessBackedWaitStrategy } from './wait-strategy.js';

export interface HttpWaitStrategyOptions {
  /** mayfly always stops waiting when the container exits (with its last log lines); accepted for compatibility */
  abortOnContainerExit?: boolean;
}

const DEFAULT_READ_TIMEOUT_MS = 1000;

export class HttpWaitStrategy extends HarnessBackedWaitStrategy {
  private protocol: 'http' | 'https' = 'http';
  private method = 'GET';
  private headers: { [key: string]: string } = {};
  private readonly statusChecks: ((status: number) => boolean)[] = [];
  private readonly bodyChecks: ((body: string) => boolean)[] = [];
  private insecure = false;
  private readTimeoutMs = DEFAULT_READ_TIMEOUT_MS;

  constructor(
    private readonly path: string,
    private readonly port: number,
    private readonly options: HttpWaitStrategyOptions = {},
  ) {
    super();
    this.build(); // a path or port that cannot work fails here, in the test's own stack
  }

  forStatusCode(statusCode: number): this {
    this.statusChecks.push((status) => status === statusCode);
    return this;
  }

  forStatusCodeMatching(predicate: (statusCode: number) => boolean): this {
    this.statusChecks.push(predicate);
    return this;
  }

  forResponsePredicate(predicate: (response: string) => boolean): this {
    this.bodyChecks.push(predicate);
    return this;
  }

  withMethod(method: string): this {
    this.method = method;
    return this;
  }

  withHeaders(headers: { [key: string]: string }): this {
    this.headers = { ...this.headers, ...headers };
    return this;
  }

  withBasicCredentials(username: string, password: string): this {
    return this.withHeaders({ Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` });
  }

  /** how long one request may take (ms) */
  withReadTimeout(startupTimeoutMs: number): this {
    this.readTimeoutMs = startupTimeoutMs;
    return this;
  }

  usingTls(): this {
    this.protocol = 'https';
    return this;
  }

  /** accept any certificate (a self-signed test certificate) */
  allowInsecure(): this {
    this.insecure = true;
    return this;
  }

  /** @internal */
  harnessStrategy(): HarnessWaitStrategy {
    return this.build();
  }

  /** @internal */
  timeoutSentence(_ctx: unknown, timeoutMs: number): string {
    return `URL ${this.path} not accessible after ${timeoutMs}ms`;
  }

  private build(): HarnessHttpWaitStrategy {
    const statusChecks = [...this.statusChecks];
    const bodyChecks = [...this.bodyChecks];
    void this.options; // abortOnContainerExit: mayfly never waits on for a container that has exited
    return new HarnessHttpWaitStrategy(this.path, this.port, {
      ...(statusChecks.length ? { status: (s: number) => statusChecks.every((check) => check(s)) } : {}),
      ...(bodyChecks.length ? { body: (b: string) => bodyChecks.every((check) => check(b)) } : {}),
      method: this.method,
      headers: this.headers,
      requestTimeoutMs: this.readTimeoutMs,
      tls: this.protocol === 'https',
      insecure: this.insecure,
    });
  }
}
