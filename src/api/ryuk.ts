/**
 * Testcontainers' reaper, answered by mayfly itself. Testcontainers starts `testcontainers/ryuk`
 * with the Docker socket bind-mounted, connects to its port 8080, sends filters one a line
 * (`label=org.testcontainers.session-id=…`, several joined by `&`), reads `ACK` for each, and keeps
 * the connection open for as long as its process lives. When every connection has been closed
 * for the reconnection timeout (RYUK_RECONNECTION_TIMEOUT, 10 s), or none came within the
 * connection timeout (RYUK_CONNECTION_TIMEOUT, 60 s), the containers, networks and volumes the
 * filters match are removed — so a test process killed without cleanup leaves nothing behind.
 *
 * Docker Hub is often out of reach (and Ryuk's image would need a socket mount into a container);
 * instead its container here is a busybox one that only prints the line Testcontainers waits for,
 * and the port the client connects to is a listener of the keeper, shown as the container's 8080.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { isMayflyError } from '../core/errors.js';
import type { Container } from '../engine/runtime.js';
import { busyboxRootfs } from '../runtime/busybox-rootfs.js';
import { API_DIR } from './socket-path.js';
import { extrasOf } from './container-documents.js';
import { apiError, type ApiCall, type ApiContext } from './route.js';

export const RYUK_PORT = 8080;
const RYUK_IMAGE_ID = `sha256:${'0'.repeat(60)}6b75`;
const DEFAULT_RECONNECTION_MS = 10_000;
const DEFAULT_CONNECTION_MS = 60_000;

export const isRyukImage = (image: string) => /(^|\/)testcontainers\/ryuk([:@]|$)/.test(image);

/** Go durations as Ryuk reads them (`10s`, `1m30s`, `500ms`); a bare number is seconds. */
export function parseDuration(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m: RegExpExecArray | null;
  let matched = '';
  while ((m = re.exec(text))) {
    total += Number(m[1]) * units[m[2]!]!;
    matched += m[0];
  }
  return matched === text ? total : fallback;
}

/** One filter line: `label=k=v&label=k2` → the label conditions (other keys Ryuk knows are ignored). */
export function parseFilterLine(line: string): string[] | undefined {
  const labels: string[] = [];
  for (const part of line.split('&')) {
    const i = part.indexOf('=');
    if (i < 0) return undefined;
    const key = decodeURIComponent(part.slice(0, i));
    const value = decodeURIComponent(part.slice(i + 1).replace(/\+/g, ' '));
    if (key === 'label') labels.push(value);
  }
  return labels.length ? labels : undefined;
}

const matches = (labels: Record<string, string>, conditions: string[]) =>
  conditions.every((c) => {
    const i = c.indexOf('=');
    return i < 0 ? c in labels : labels[c.slice(0, i)] === c.slice(i + 1);
  });

export class RyukStandIn {
  private readonly server: Server;
  private readonly filters: string[][] = [];
  private readonly connections = new Set<Socket>();
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  port = 0;

  constructor(
    private readonly ctx: ApiContext,
    private readonly containerId: string,
    private readonly reconnectionMs: number,
    private readonly connectionMs: number,
  ) {
    this.server = createServer((s) => this.serve(s));
    this.server.on('error', () => {});
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    // nobody connecting at all is a client that died before it could
    this.arm(this.connectionMs);
    return this.port;
  }

  addFilter(labels: string[]): void {
    if (!this.filters.some((x) => x.join('\n') === labels.join('\n'))) this.filters.push(labels);
  }

  private serve(socket: Socket): void {
    this.connections.add(socket);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    socket.setEncoding('utf8');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '').trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const f = parseFilterLine(line);
        if (f) this.addFilter(f);
        socket.write('ACK\n');
      }
    });
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.connections.delete(socket);
      if (!this.connections.size) this.arm(this.reconnectionMs);
    });
  }

  private arm(ms: number): void {
    if (this.ended) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reap(), ms);
    this.timer.unref();
  }

  /** Removes what the filters match (containers, then networks, then volumes), then itself. */
  async reap(): Promise<void> {
    if (this.ended || this.connections.size) return;
    this.ended = true;
    const { holdings, runtime } = this.ctx;
    const anyFilter = (labels: Record<string, string>) => this.filters.some((f) => matches(labels, f));
    const doomed = holdings.all().filter((c) => c.id !== this.containerId && anyFilter(c.spec.labels));
    await Promise.allSettled(doomed.map((c) => holdings.remove(c, true)));
    for (const n of runtime.networks()) {
      if (!n.builtin && anyFilter(n.labels)) {
        try {
          runtime.removeNetwork(n.name, { force: true });
          this.ctx.events.emit('network', 'destroy', n.id, { name: n.name, type: 'bridge' });
        } catch {
          // in use by something the filters did not match: Ryuk leaves it too
        }
      }
    }
    // the containers' anonymous volumes went with them; named ones go by their labels
    const labelled = runtime.volumes().filter((v) => anyFilter(v.labels)).map((v) => v.name);
    if (labelled.length) await runtime.removeVolumes(labelled).catch(() => {});
    this.close();
    const self = holdings.all().find((c) => c.id === this.containerId);
    if (self) await holdings.remove(self, true).catch(() => {});
  }

  close(): void {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.server.close();
    for (const s of this.connections) s.destroy();
  }
}

const STAND_IN_IMAGE = 'testcontainers/ryuk';
const SESSION_LABEL = 'org.testcontainers.session-id';

/**
 * A stand-in left by a keeper that ended (its listener went with it, and so did its clients'
 * connections): what its session made is reaped now, as Ryuk would have once they were gone.
 */
export async function reapOrphanedStandIns(ctx: ApiContext): Promise<void> {
  for (const c of ctx.holdings.all()) {
    const session = c.spec.labels[SESSION_LABEL];
    if (c.spec.labels['mayfly.image'] !== STAND_IN_IMAGE) continue;
    const orphan = new RyukStandIn(ctx, c.id, 0, 0);
    if (session) orphan.addFilter([`${SESSION_LABEL}=${session}`]);
    await orphan.reap();
  }
}

/** Testcontainers asks for Ryuk's image before it creates the container: the stand-in needs none, so it is "there". */
export function ryukImageDocument(ref: string): Record<string, unknown> {
  return {
    Id: RYUK_IMAGE_ID,
    RepoTags: [ref],
    RepoDigests: [],
    Created: '1970-01-01T00:00:00Z',
    Config: { ExposedPorts: { [`${RYUK_PORT}/tcp`]: {} }, Labels: { 'org.mayfly.stand-in': 'ryuk' } },
    Architecture: 'amd64',
    Os: 'linux',
    Size: 0,
    RootFS: { Type: 'layers', Layers: [] },
  };
}

/** `POST /images/create` of Ryuk's image: nothing to fetch. */
export function ryukPulled(call: ApiCall, ref: string): undefined {
  call.res.writeHead(200, { 'Content-Type': 'application/json' });
  call.res.end(`${JSON.stringify({ status: `Status: Image is up to date for ${ref} (mayfly answers for Ryuk itself)` })}\n`);
  return undefined;
}

/** The stand-in's container: busybox printing Ryuk's start line, with the keeper's listener as its port 8080. */
export async function createRyukStandIn(ctx: ApiContext, o: { name: string | undefined; labels: Record<string, string>; env: Record<string, string> }): Promise<Container> {
  let rootfs: string;
  try {
    rootfs = busyboxRootfs(join(ctx.home, API_DIR, 'ryuk-rootfs'));
  } catch (e) {
    throw apiError(500, `mayfly answers testcontainers/ryuk itself with a busybox container, and busybox is missing (${isMayflyError(e) ? e.message : String(e)}); install busybox-static, or set TESTCONTAINERS_RYUK_DISABLED=true`);
  }
  const c = await ctx.holdings.create(
    {
      layers: [rootfs],
      command: ['/bin/sh', '-c', 'echo "mayfly answers for Ryuk: Started!"; while :; do sleep 3600; done'],
      labels: { ...o.labels, 'mayfly.image': STAND_IN_IMAGE },
      network: 'none',
      ...(o.name ? { name: o.name } : {}),
    },
    { persistent: true },
  );
  const standIn = new RyukStandIn(ctx, c.id, parseDuration(o.env.RYUK_RECONNECTION_TIMEOUT, DEFAULT_RECONNECTION_MS), parseDuration(o.env.RYUK_CONNECTION_TIMEOUT, DEFAULT_CONNECTION_MS));
  const port = await standIn.listen();
  extrasOf(ctx, c.id).ports = [{ containerPort: RYUK_PORT, hostPort: port, hostIp: '127.0.0.1', protocol: 'tcp' }];
  // the stand-in goes with its container, however that goes
  const off = ctx.holdings.observe((e) => {
    if (e.container.id === c.id && e.action === 'destroy') {
      off();
      standIn.close();
    }
  });
  return c;
}
