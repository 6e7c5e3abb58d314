/**
 * The Docker Engine API's HTTP server: requests on a Unix socket, the `/v1.NN` prefix checked and
 * stripped, each routed by method and path to a handler of routes/ (route.ts says how they are
 * written), answers and errors in Docker's shape. A handler's failure is an answer, never the
 * keeper's end: every request, stream and socket error is caught here.
 */
import { appendFileSync, chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { parseWith } from '../core/validate.js';
import { messageOf, statusOf } from './errors.js';
import { apiError, isReply, makeReply, type ApiCall, type ApiContext, type Hijacked, type Method, type Route } from './route.js';

export const API_VERSION = '1.44';
export const MIN_API_VERSION = '1.24';
/** the newest version a client may ask for: newer clients speak it and read only what 1.44 has */
const MAX_ACCEPTED = [1, 47] as const;
const MIN_ACCEPTED = [1, 24] as const;
/** JSON bodies (create, exec, network): Docker's are a few KiB */
const JSON_LIMIT = 4 * 1024 * 1024;
const RAW_STREAM = 'application/vnd.docker.raw-stream';

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      if (seg.startsWith('*')) {
        names.push(seg.slice(1));
        return '(.+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}/?$`), names };
}

export interface ApiServerOptions {
  /** a line for the API's log (unsupported endpoints, handler failures) */
  log?: (line: string) => void;
  /** called at each request (the keeper's idle rules) */
  onRequest?: () => void;
}

export class ApiServer {
  private readonly routes: CompiledRoute[];
  private readonly server: Server;
  private readonly unsupportedSeen = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly log: (line: string) => void;
  private readonly onRequest: () => void;

  constructor(
    private readonly ctx: ApiContext,
    routes: Route[],
    opts: ApiServerOptions = {},
  ) {
    this.routes = routes.map(compile);
    this.log = opts.log ?? (() => {});
    this.onRequest = opts.onRequest ?? (() => {});
    this.server = createServer((req, res) => void this.dispatch(req, res, undefined));
    this.server.requestTimeout = 0; // build contexts and archives may take long to upload
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const res = new ServerResponse(req);
      res.assignSocket(socket);
      res.shouldKeepAlive = false;
      void this.dispatch(req, res, { socket, head });
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('error', () => s.destroy());
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (_e, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** where it listens */
  socketPath = '';

  /** Listens on `path` (its directory made 0700: only its owner reaches the API). */
  listen(path: string): Promise<void> {
    this.socketPath = path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    chmodSync(dirname(path), 0o700);
    rmSync(path, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        chmodSync(path, 0o600);
        resolve();
      });
    });
  }

  /** open connections (a hijacked stream, an events follower, a Ryuk client count as clients) */
  get connections(): number {
    return this.sockets.size;
  }

  close(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, upgrade: { socket: Socket; head: Buffer } | undefined): Promise<void> {
    req.on('error', () => {});
    res.on('error', () => {});
    this.onRequest();
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', 'mayfly (linux)');
    const url = new URL(req.url ?? '/', 'http://docker');
    const method = (req.method ?? 'GET').toUpperCase() as Method;
    let path = url.pathname;
    let version = API_VERSION;
    const v = /^\/v(\d+)\.(\d+)(\/.*)$/.exec(path);
    try {
      if (v) {
        const [major, minor] = [Number(v[1]), Number(v[2])];
        const asked = `${major}.${minor}`;
        if (major < MIN_ACCEPTED[0] || (major === MIN_ACCEPTED[0] && minor < MIN_ACCEPTED[1])) throw apiError(400, `client version ${asked} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
        if (major > MAX_ACCEPTED[0] || (major === MAX_ACCEPTED[0] && minor > MAX_ACCEPTED[1])) throw apiError(400, `client version ${asked} is too new. Maximum supported API version is ${API_VERSION}`);
        version = asked;
        path = v[3]!;
      }
      const found = this.find(method, path);
      if (!found) {
        const endpoint = `${method} ${path.replace(/\/[0-9a-f]{12,64}(?=\/|$)/g, '/{id}')}`;
        if (!this.unsupportedSeen.has(endpoint)) {
          this.unsupportedSeen.add(endpoint);
          this.log(`unsupported endpoint: ${endpoint}`);
        }
        throw apiError(501, `mayfly does not implement ${method} ${path} of the Docker Engine API`);
      }
      const call = this.call(found.route, found.params, method, path, version, url.searchParams, req, res, upgrade);
      const out = await found.route.handle(call);
      if (res.headersSent || res.writableEnded || hijacked.has(res)) return;
      if (isReply(out)) return send(res, out.status, out.body, out.headers);
      if (out === undefined) return send(res, 204);
      send(res, 200, out);
    } catch (e) {
      const status = statusOf(e);
      // a client that went away mid-request is no failure of ours
      if (status >= 500 && status !== 501 && !req.destroyed) this.log(`${method} ${path}: ${(e as Error)?.stack ?? String(e)}`);
      if (res.headersSent || hijacked.has(res)) {
        // too late for a status: the stream ends early, which the client sees as an error
        if (upgrade) upgrade.socket.destroy();
        else res.destroy();
        return;
      }
      send(res, status, { message: messageOf(e) });
    } finally {
      if (upgrade && !hijacked.has(res)) res.once('finish', () => upgrade.socket.end());
    }
  }

  private find(method: Method, path: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
    const tryMethod = (m: Method) => {
      for (const route of this.routes) {
        if (route.method !== m) continue;
        const match = route.pattern.exec(path);
        if (!match) continue;
        const params: Record<string, string> = {};
        route.names.forEach((n, i) => (params[n] = decodeURIComponent(match[i + 1]!)));
        return { route, params };
      }
      return undefined;
    };
    return tryMethod(method) ?? (method === 'HEAD' ? tryMethod('GET') : undefined);
  }

  private call(
    route: CompiledRoute,
    params: Record<string, string>,
    method: Method,
    path: string,
    version: string,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    upgrade: { socket: Socket; head: Buffer } | undefined,
  ): ApiCall {
    let body: Promise<Buffer> | undefined;
    const bytes = (limit = JSON_LIMIT) => (body ??= upgrade ? readUpgradedBody(req, upgrade, limit) : readBody(req, limit));
    return {
      ctx: this.ctx,
      method,
      path,
      version,
      params,
      query,
      req,
      res,
      bytes,
      async json<T extends z.ZodType>(schema: T): Promise<z.output<T>> {
        const raw = await bytes();
        let value: unknown = {};
        if (raw.length) {
          try {
            value = JSON.parse(raw.toString('utf8'));
          } catch (e) {
            throw apiError(400, `the request body is not valid JSON: ${(e as Error).message}`);
          }
        }
        if (value === null) value = {};
        return parseWith(schema, value, `${route.method} ${route.path} body`);
      },
      flag: (name) => /^(1|true)$/i.test(query.get(name) ?? ''),
      int(name) {
        const raw = query.get(name);
        if (raw === null || raw === '') return undefined;
        const n = Number(raw);
        if (!Number.isFinite(n)) throw apiError(400, `query parameter ${name} must be a number, got "${raw}"`);
        return Math.trunc(n);
      },
      filters: () => parseFilters(query.get('filters')),
      reply: makeReply,
      noContent: () => makeReply(204),
      hijack: (contentType = RAW_STREAM) => hijack(req, res, upgrade, contentType),
    };
  }
}

const hijacked = new WeakSet<ServerResponse>();

function hijack(req: IncomingMessage, res: ServerResponse, upgrade: { socket: Socket; head: Buffer } | undefined, contentType: string): Hijacked {
  hijacked.add(res);
  if (upgrade) {
    const { socket } = upgrade;
    res.detachSocket(socket);
    socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    return {
      write: (d) => socket.writable && socket.write(d),
      end: () => socket.end(),
      input: socket,
      closed,
    };
  }
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
  void req;
  return {
    write: (d) => !res.writableEnded && res.write(d),
    end: () => res.end(),
    input: undefined,
    closed,
  };
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined || status === 204 || status === 304) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function tooLarge(limit: number) {
  return apiError(413, `the request body is larger than ${limit} bytes`);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  // a chunked body may stay open (dockerode's exec start with stdin): one whole JSON object is the body
  const open = req.headers['content-length'] === undefined && /json/.test(req.headers['content-type'] ?? '');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
      if (open) {
        const body = Buffer.concat(chunks);
        try {
          JSON.parse(body.toString('utf8'));
        } catch {
          return;
        }
        req.removeAllListeners('data');
        req.resume();
        resolve(body);
      }
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * An upgraded request's body (exec start's `{"Detach":false,"Tty":false}`) is the first
 * Content-Length bytes after its headers; what follows is the client's stream, left on the socket.
 */
function readUpgradedBody(req: IncomingMessage, upgrade: { socket: Socket; head: Buffer }, limit: number): Promise<Buffer> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > limit) return Promise.reject(tooLarge(limit));
  const { socket, head } = upgrade;
  if (head.length >= length) {
    if (head.length > length) socket.unshift(head.subarray(length));
    return Promise.resolve(head.subarray(0, length));
  }
  return new Promise((resolve, reject) => {
    let got = head;
    const onData = (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length < length) return;
      socket.off('data', onData);
      socket.pause();
      if (got.length > length) socket.unshift(got.subarray(length));
      resolve(got.subarray(0, length));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(apiError(400, 'the connection closed before the request body was read')));
  });
}

function parseFilters(raw: string | null): Record<string, string[]> {
  if (!raw) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw apiError(400, `invalid filters: ${raw}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw apiError(400, `invalid filters: ${raw}`);
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (typeof v === 'object' && v !== null) out[k] = Object.entries(v).filter(([, on]) => on).map(([x]) => x);
    else throw apiError(400, `invalid filter ${k}`);
  }
  return out;
}

/** The API's log: `$MAYFLY_HOME/api/api.log` (the keeper has no terminal). */
export function fileLog(path: string): (line: string) => void {
  return (line) => {
    try {
      appendFileSync(path, `${new Date().toISOString()} ${line}\n`);
    } catch {
      // a log that cannot be written is no reason to fail a request
    }
  };
}
