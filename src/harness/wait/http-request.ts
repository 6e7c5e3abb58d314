/**
 * One HTTP(S) request for a readiness probe, on a fresh connection (no pool: a probe that gave up
 * must not leave a socket idling in a pool, and each attempt must see the server as a new client
 * would). node:http rather than fetch: fetch cannot skip certificate checks without a dispatcher
 * from undici, which Node does not expose.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProbeRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** accept any certificate (self-signed, wrong name): `allowInsecure()` */
  insecure: boolean;
  signal: AbortSignal;
}

export interface ProbeResponse {
  status: number;
  /** the body's first characters, at most `max` (the rest is not read) */
  start(max: number): Promise<string>;
  /** the whole body as text */
  text(): Promise<string>;
  /** lets go of the connection without reading on */
  cancel(): void;
}

export function probe(r: ProbeRequest): Promise<ProbeResponse> {
  const send = r.url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(r.url, { method: r.method, headers: r.headers, agent: false, signal: r.signal, ...(r.insecure ? { rejectUnauthorized: false } : {}) }, (res) => resolve(response(res)));
    req.once('error', reject);
    req.end();
  });
}

function response(res: IncomingMessage): ProbeResponse {
  res.setEncoding('utf8');
  const read = (max: number) =>
    new Promise<string>((resolve, reject) => {
      let text = '';
      const done = () => {
        res.off('data', onData);
        resolve(text);
      };
      const onData = (chunk: string) => {
        text += chunk;
        if (text.length >= max) {
          done();
          res.destroy();
        }
      };
      res.on('data', onData);
      res.once('end', done);
      res.once('error', reject);
    });
  return {
    status: res.statusCode ?? 0,
    start: (max) => read(max),
    text: () => read(Infinity),
    cancel: () => res.destroy(),
  };
}
