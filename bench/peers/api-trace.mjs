// A recording relay in front of a Docker API socket: which requests a client sends, and how long
// each takes to answer (to its response head, and to the end of its body; a hijacked or streamed
// one — exec start, attach, logs with follow — to its first bytes). For profiling the API path
// (TRACE=1 in bench/run.mjs); it adds a hop, so timings taken through it are not the bench's.
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { rmSync } from 'node:fs';

/** The endpoint without ids, names or query values: `/containers/ID/json` → `GET /containers/{id}/json`. */
export function endpointOf(method, url) {
  const path = url.split('?')[0].replace(/^\/v1\.\d+/, '');
  const shape = path
    .replace(/^\/(containers|exec|networks|volumes)\/([^/]+)/, (all, kind, id) => (['create', 'json', 'prune'].includes(id) ? all : `/${kind}/{id}`))
    .replace(/^\/images\/.+\/json$/, '/images/{name}/json');
  const query = [...new URL(url, 'http://x').searchParams.keys()].sort().join('&');
  return `${method} ${shape}${query ? `?${query}` : ''}`;
}

/**
 * @param {string} upstream the API's socket
 * @param {string} path where the relay listens
 */
export async function traceRelay(upstream, path) {
  /** @type {{ at: number, endpoint: string, status: number, headMs: number, endMs: number }[]} */
  const entries = [];
  const server = createServer((req, res) => {
    const t0 = performance.now();
    const up = request({ socketPath: upstream, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const headMs = performance.now() - t0;
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
      ur.once('end', () => entries.push({ at: t0, endpoint: endpointOf(req.method, req.url), status: ur.statusCode ?? 0, headMs, endMs: performance.now() - t0 }));
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // hijacked streams (exec start, attach): relayed as bytes once the head is written upstream
  server.on('upgrade', (req, socket, head) => {
    const t0 = performance.now();
    const up = connect(upstream, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      up.write(head);
      socket.pipe(up);
      up.pipe(socket);
    });
    up.once('data', () => entries.push({ at: t0, endpoint: `${endpointOf(req.method, req.url)} (hijacked)`, status: 101, headMs: performance.now() - t0, endMs: NaN }));
    up.once('close', () => {
      const e = entries.findLast((x) => x.at === t0);
      if (e) e.endMs = performance.now() - t0;
    });
    for (const s of [socket, up]) s.on('error', () => (socket.destroy(), up.destroy()));
  });
  rmSync(path, { force: true });
  await new Promise((resolve) => server.listen(path, () => resolve(undefined)));
  return {
    path,
    entries,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve(undefined));
        server.closeAllConnections();
      }),
  };
}

/** Per endpoint: how many per container start (`starts` of them), median head and end times. */
export function traceSummary(entries, starts) {
  const by = new Map();
  for (const e of entries) {
    const k = `${e.endpoint} → ${e.status}`;
    if (!by.has(k)) by.set(k, []);
    by.get(k).push(e);
  }
  const median = (xs) => {
    const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    return v.length ? v[Math.floor((v.length - 1) / 2)] : NaN;
  };
  return [...by]
    .map(([endpoint, es]) => ({ endpoint, perStart: es.length / starts, headMs: median(es.map((e) => e.headMs)), endMs: median(es.map((e) => e.endMs)), count: es.length }))
    .sort((a, b) => b.perStart * b.endMs - a.perStart * a.endMs);
}
