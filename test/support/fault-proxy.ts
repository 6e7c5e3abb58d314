/**
 * A registry's misbehaviour, on demand: an HTTP proxy in front of the run's real registry that
 * passes everything through, except the blob downloads it is told to spoil — dropped mid-body,
 * truncated, altered, or answered 500 or 429. What a flaky network or a bad mirror does, without
 * mocking the client.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';

const DROP_MIN_BYTES = 64 * 1024;

export type Fault = 'drop-mid-body' | 'truncate' | 'wrong-bytes' | 'status-500' | 'status-429';

export interface FaultProxy {
  /** host:port to pull from */
  host: string;
  /** faults still to inject, in order, one per blob GET */
  queue: Fault[];
  /** what was injected so far */
  injected: Fault[];
  /** blob requests that asked for a range (a resumed download) and what the registry answered */
  ranges: { range: string; status: number }[];
  close(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const state: Omit<FaultProxy, 'host' | 'close'> = { queue: [], injected: [], ranges: [] };
  const server: Server = createServer((req, res) => {
    const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    // status faults are answered at once; the others once the blob's size is known
    const early = isBlob && (state.queue[0] === 'status-500' || state.queue[0] === 'status-429') ? state.queue.shift() : undefined;
    if (early) state.injected.push(early);
    const fault = early;
    if (fault === 'status-500' || fault === 'status-429') {
      res.writeHead(fault === 'status-500' ? 500 : 429, { 'content-type': 'application/json', ...(fault === 'status-429' ? { 'retry-after': '0' } : {}) });
      res.end('{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}');
      return;
    }
    const out = request({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (up: IncomingMessage) => {
      if (isBlob && req.headers.range) state.ranges.push({ range: req.headers.range, status: up.statusCode ?? 0 });
      // a connection is dropped only in the middle of a big blob (a good part of it arrives first)
      const size = Number(up.headers['content-length'] ?? 0);
      const next = state.queue[0];
      const fault = isBlob && up.statusCode === 200 && next && (next !== 'drop-mid-body' || size >= DROP_MIN_BYTES) ? state.queue.shift() : undefined;
      if (fault) state.injected.push(fault);
      if (!fault) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        const half = Math.max(1, Math.floor(body.length / 2));
        if (fault === 'drop-mid-body') {
          // the promised length, half the bytes, then the connection is gone
          res.writeHead(up.statusCode ?? 502, up.headers);
          // (a moment between: the client has the first half on disk when the connection goes)
          res.write(body.subarray(0, half), () => setTimeout(() => res.socket?.destroy(), 100));
        } else if (fault === 'truncate') {
          // a well-formed answer that is simply short
          res.writeHead(up.statusCode ?? 502, { ...up.headers, 'content-length': String(half) });
          res.end(body.subarray(0, half));
        } else {
          body[half] = body[half]! ^ 0xff;
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(body);
        }
      });
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    host: `127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  }) as FaultProxy;
}
