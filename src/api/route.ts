/**
 * The route contract of mayfly's Docker Engine API (server.ts serves it on a Unix socket).
 *
 * How a route module is written: a file under src/api/routes/ exports an array of routes,
 *
 *     export const volumeRoutes: Route[] = [
 *       { method: 'GET', path: '/volumes/:name', handle: (call) => volumeDocument(find(call.ctx, call.params.name!)) },
 *       { method: 'DELETE', path: '/volumes/:name', handle: async (call) => { …; return call.noContent(); } },
 *     ];
 *
 * and is added, one line, to routes/index.ts. Paths are written without the `/v1.NN` prefix (the
 * server strips it); `:name` matches one path segment, `*name` the rest of the path (image names
 * have slashes). What `handle` returns is the answer: a value is sent as JSON with 200,
 * `call.reply(status, body)` picks the status, `call.noContent()` is 204; a handler that streams
 * writes `call.res` itself (or takes the connection with `call.hijack()`) and returns undefined.
 * Throwing a MayflyError answers with Docker's status for its code (errors.ts) and `{"message"}`;
 * `apiError(status, message)` when no code fits. Bodies: `await call.json(schema)` (size-limited:
 * 413; malformed: 400; unknown fields are ignored as Docker ignores them) or `call.req` as a stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { z } from 'zod';
import type { Runtime } from '../engine/runtime.js';
import type { Holdings } from '../keeper/holdings.js';
import type { ApiEvents } from './events.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface Route {
  method: Method;
  path: string;
  handle: (call: ApiCall) => unknown;
}

/** What every handler may use: the keeper's runtime and the containers it holds. */
export interface ApiContext {
  runtime: Runtime;
  holdings: Holdings;
  home: string;
  /** the lifecycle events `/events` streams (create, start, die, stop, destroy …) */
  events: ApiEvents;
  /** the socket path clients reach this API on (Ryuk's bind mount names it) */
  socketPath: string;
  /** shared state of route modules, by key (e.g. exec sessions), so that modules stay plain files */
  state: Map<string, unknown>;
}

const REPLY = Symbol('mayfly.api.reply');

export interface Reply {
  [REPLY]: true;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const isReply = (v: unknown): v is Reply => typeof v === 'object' && v !== null && REPLY in v;

export function makeReply(status: number, body?: unknown, headers?: Record<string, string>): Reply {
  return { [REPLY]: true, status, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) };
}

/** An error answered as Docker answers it: `status` and `{"message": …}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const apiError = (status: number, message: string) => new ApiError(status, message);

/** One request, as a handler sees it. */
export interface ApiCall {
  readonly ctx: ApiContext;
  readonly method: Method;
  /** the path without its version prefix */
  readonly path: string;
  /** the API version the client asked for (`1.44`), or the highest when it named none */
  readonly version: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** the body as JSON, checked with `schema` (unknown fields pass); an empty body is `{}` */
  json<T extends z.ZodType>(schema: T): Promise<z.output<T>>;
  /** the body's bytes (size-limited) */
  bytes(limit?: number): Promise<Buffer>;
  /** a boolean query parameter as Docker reads them: `1`, `true` (any case) */
  flag(name: string): boolean;
  /** an integer query parameter; `undefined` when absent, 400 when not a number */
  int(name: string): number | undefined;
  /** Docker's `filters` query parameter: `{"label":["a=b"]}` (the old `{"label":{"a=b":true}}` too) */
  filters(): Record<string, string[]>;
  reply(status: number, body?: unknown, headers?: Record<string, string>): Reply;
  noContent(): Reply;
  /**
   * The connection as a raw stream (attach, exec start): answered `101 UPGRADED` when the client
   * asked to upgrade (`Upgrade: tcp`), else `200` with Docker's raw-stream type and the body
   * streamed; what the client writes after its request comes from `input` (upgraded only).
   */
  hijack(contentType?: string): Hijacked;
}

export interface Hijacked {
  write(data: Uint8Array | string): boolean;
  end(): void;
  /** the client's bytes (an upgraded connection's stdin); ends when the client half-closes */
  readonly input: Duplex | undefined;
  /** settles when the client has gone */
  readonly closed: Promise<void>;
}

/** A route module's own state in the context, made on first use (exec sessions, health monitors). */
export function shared<T>(ctx: ApiContext, key: string, make: () => T): T {
  if (!ctx.state.has(key)) ctx.state.set(key, make());
  return ctx.state.get(key) as T;
}
