/**
 * RegistryClient against a real registry (Docker Distribution, anonymous), plus small node:http
 * servers in front of it or in its place for what a healthy registry never does: corrupt a blob,
 * redirect to another host, fail and recover.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught } from '../../../test/support/runtime.js';
import { isMayflyError, type MayflyError } from '../../core/errors.js';
import { blobOf, pushTestImage, startRegistry, testImage, type StartedRegistry } from '../../../test/support/registry.js';
import { RegistryClient, type BlobProgress } from './client.js';
import { MediaType } from './media-types.js';

let registry: StartedRegistry;
let dir: string;
let client: RegistryClient;
const fast = { retryDelay: { baseMs: 5, maxMs: 20 } };

beforeAll(async () => {
  registry = await startRegistry('plain');
  dir = mkdtempSync(join(tmpdir(), 'mayfly-registry-client-'));
  client = new RegistryClient(registry.url, fast);
});

afterAll(async () => {
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});


interface TestServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, host = '127.0.0.1'): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function fileIn(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('push and pull', () => {
  const image = testImage('round-trip');
  let pushed: string;

  beforeAll(async () => {
    pushed = await pushTestImage(client, 'test/app', 'v1', image, dir);
  });

  it('pushes an image and reads its manifest back, by tag and by digest', async () => {
    expect(pushed).toBe(image.manifest.digest);
    expect(await client.headManifest('test/app', 'v1')).toBe(image.manifest.digest);
    expect(await client.headManifest('test/app', 'v0')).toBeUndefined();

    const byTag = await client.getManifest('test/app', 'v1');
    expect(byTag.digest).toBe(image.manifest.digest);
    expect(byTag.mediaType).toBe(MediaType.OciManifest);
    expect(byTag.raw.equals(image.manifest.bytes)).toBe(true);
    expect(byTag.manifest.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
    expect(byTag.index).toBeUndefined();

    const byDigest = await client.getManifest('test/app', image.manifest.digest);
    expect(byDigest.raw.equals(image.manifest.bytes)).toBe(true);
  });

  it('downloads every blob, verified, with progress, and nothing partial left', async () => {
    const out = join(dir, 'pulled');
    const { manifest } = await client.getManifest('test/app', 'v1');
    for (const descriptor of [manifest.config, ...manifest.layers]) {
      const events: BlobProgress[] = [];
      const dest = join(out, descriptor.digest.replace(':', '-'));
      const result = await client.getBlob('test/app', descriptor.digest, dest, { size: descriptor.size, onProgress: (p) => events.push(p) });
      expect(result).toEqual({ digest: descriptor.digest, size: descriptor.size });
      expect(blobOf(readFileSync(dest)).digest).toBe(descriptor.digest);
      expect(events.at(-1)).toEqual({ digest: descriptor.digest, received: descriptor.size, total: descriptor.size });
    }
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(readdirSync(out)).toHaveLength(3);
  });

  it('throttles progress events', async () => {
    const bytes = Buffer.alloc(400_000, 'p');
    const blob = blobOf(bytes);
    await client.uploadBlob('test/big', blob.digest, fileIn('big.bin', bytes));
    const events: BlobProgress[] = [];
    const quiet = new RegistryClient(registry.url, { ...fast, progressIntervalMs: 60_000, onProgress: (p) => events.push(p) });
    await quiet.getBlob('test/big', blob.digest, join(dir, 'big.out'));
    expect(events.length).toBeLessThanOrEqual(2);
    expect(events.at(-1)).toEqual({ digest: blob.digest, received: blob.size, total: blob.size });
  });

  it('says whether a blob exists', async () => {
    expect(await client.blobExists('test/app', image.layers[0]!.digest)).toBe(true);
    expect(await client.blobExists('test/app', blobOf(Buffer.from('never pushed')).digest)).toBe(false);
  });

  it('uploads in chunks', async () => {
    const bytes = Buffer.alloc(70_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
    const blob = blobOf(bytes);
    const source = fileIn('chunked.bin', bytes);
    expect(await client.uploadBlob('test/chunked', blob.digest, source, { chunkSize: 16 * 1024 })).toBe(blob.digest);
    const dest = join(dir, 'chunked.out');
    await client.getBlob('test/chunked', blob.digest, dest, { size: blob.size });
    expect(readFileSync(dest).equals(bytes)).toBe(true);
  });

  it('refuses an upload whose digest does not match', async () => {
    const source = fileIn('liar.bin', Buffer.from('these bytes'));
    const e = await caught(client.uploadBlob('test/app', blobOf(Buffer.from('other bytes')).digest, source, { chunkSize: 4 }));
    expect(e.code).toBe('DIGEST_MISMATCH');
  });

  it('mounts a blob from another repository, and says when it cannot', async () => {
    const layer = image.layers[1]!;
    expect(await client.blobExists('test/other', layer.digest)).toBe(false);
    expect(await client.mountBlob('test/other', layer.digest, 'test/app')).toBe(true);
    expect(await client.blobExists('test/other', layer.digest)).toBe(true);
    expect(await client.mountBlob('test/other', blobOf(Buffer.from('nowhere')).digest, 'test/app')).toBe(false);
  });

  it('reports an unknown tag or repository as IMAGE_NOT_FOUND, naming registry, repo and tag', async () => {
    const e = await caught(client.getManifest('test/app', 'nope'));
    expect(e.code).toBe('IMAGE_NOT_FOUND');
    expect(e.message).toContain(`${registry.host}/test/app:nope`);
    expect(e.message).toContain('manifest nope in test/app');
    expect((await caught(client.getManifest('test/missing', 'latest'))).code).toBe('IMAGE_NOT_FOUND');
  });
});

describe('image indexes', () => {
  const amd64 = testImage('multi-amd64', 'amd64');
  const arm64 = testImage('multi-arm64', 'arm64', 'v8');
  const index = blobOf(
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { mediaType: 'application/vnd.example.sbom+json', digest: arm64.config.digest, size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaType.OciManifest, digest: amd64.manifest.digest, size: amd64.manifest.size, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaType.OciManifest, digest: arm64.manifest.digest, size: arm64.manifest.size, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    })),
    MediaType.OciIndex,
  );

  beforeAll(async () => {
    await pushTestImage(client, 'test/multi', amd64.manifest.digest, amd64, dir);
    await pushTestImage(client, 'test/multi', arm64.manifest.digest, arm64, dir);
    expect(await client.putManifest('test/multi', 'latest', index.bytes, MediaType.OciIndex)).toBe(index.digest);
  });

  it('picks the manifest of the platform asked for', async () => {
    const a = await client.getManifest('test/multi', 'latest', { platform: { os: 'linux', architecture: 'amd64' } });
    expect(a.digest).toBe(amd64.manifest.digest);
    expect(a.index?.digest).toBe(index.digest);
    expect(a.index?.manifest.manifests).toHaveLength(3);
    const b = await client.getManifest('test/multi', 'latest', { platform: { os: 'linux', architecture: 'arm64' } });
    expect(b.digest).toBe(arm64.manifest.digest);
    expect(b.manifest.config.digest).toBe(arm64.config.digest);
  });

  it('defaults to the host platform', async () => {
    const expected = process.arch === 'arm64' ? arm64 : process.arch === 'x64' ? amd64 : undefined;
    if (!expected) return; // only amd64 and arm64 are in this index
    expect((await client.getManifest('test/multi', 'latest')).digest).toBe(expected.manifest.digest);
  });

  it('lists the available platforms when none matches', async () => {
    const e = await caught(client.getManifest('test/multi', 'latest', { platform: { os: 'linux', architecture: 's390x' } }));
    expect(e.code).toBe('PLATFORM_NOT_FOUND');
    expect(e.message).toContain('linux/amd64, linux/arm64/v8');
  });
});

describe('failures', () => {
  it('reports a registry that is down as REGISTRY_UNREACHABLE, at once', async () => {
    const closed = await serve(() => undefined);
    await closed.close();
    // a retry would first wait ten minutes: the answer coming before the tripwire (20 s, thousands of
    // times a refused local connection) shows there was none
    const down = new RegistryClient(closed.url, { retryDelay: { baseMs: 600_000, maxMs: 600_000 } });
    let tripwire: NodeJS.Timeout | undefined;
    const e = await Promise.race([
      caught(down.getManifest('test/app', 'v1')),
      new Promise<never>((_, reject) => (tripwire = setTimeout(() => reject(new Error('no answer in 20 s: the refusal was retried')), 20_000))),
    ]).finally(() => clearTimeout(tripwire));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain(`127.0.0.1:${closed.port} is unreachable (ECONNREFUSED) while fetching manifest v1 of test/app`);
    expect(e.hint).toMatch(/check the address/);
  });

  it('keeps no file when a blob does not match its digest twice (a corrupt one is fetched once more), and a later try succeeds', async () => {
    const blob = blobOf(Buffer.from('content that a proxy will corrupt once'));
    await client.uploadBlob('test/corrupt', blob.digest, fileIn('corrupt.bin', blob.bytes));
    let corrupted = 0;
    const proxy = await serve((req, res) => {
      const upstream = new URL(registry.url);
      const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        // twice: the client fetches a corrupt blob once more before it gives up
        const corrupt = req.method === 'GET' && req.url?.includes('/blobs/') && corrupted < 2;
        if (!corrupt) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        corrupted++;
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          body[5] = body[5]! ^ 0xff;
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(body);
        });
      });
      req.pipe(out);
    });
    try {
      const viaProxy = new RegistryClient(proxy.url, fast);
      const dest = join(dir, 'corrupt', 'blob');
      const e = await caught(viaProxy.getBlob('test/corrupt', blob.digest, dest, { size: blob.size }));
      expect(e.code).toBe('DIGEST_MISMATCH');
      expect(e.message).toContain(`expected ${blob.digest}`);
      expect(e.message).toMatch(/with digest sha256:[0-9a-f]{64}/);
      expect(e.message).toContain(`127.0.0.1:${proxy.port}`);
      expect(existsSync(dest)).toBe(false);
      expect(existsSync(`${dest}.partial`)).toBe(false);

      await viaProxy.getBlob('test/corrupt', blob.digest, dest, { size: blob.size });
      expect(readFileSync(dest).equals(blob.bytes)).toBe(true);
      expect(corrupted).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it('follows a redirect to another host without the Authorization header', async () => {
    const blob = blobOf(Buffer.from('blob bytes on a CDN'));
    const seen: { host: string; path: string; authorization: string | undefined }[] = [];
    const record = (req: IncomingMessage, host: string): void => {
      seen.push({ host, path: req.url ?? '', authorization: req.headers.authorization });
    };
    const cdn = await serve((req, res) => {
      record(req, 'cdn');
      res.end(blob.bytes);
    }, '127.0.0.2');
    const origin = await serve((req, res) => {
      record(req, 'registry');
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
      } else if (req.url?.startsWith('/v2/')) {
        // first to another path of the same origin (keeps credentials), then off to the CDN
        res.writeHead(307, { location: `/storage${req.url}` }).end();
      } else {
        res.writeHead(307, { location: `${cdn.url}/cdn/blob?sig=1` }).end();
      }
    });
    try {
      const c = new RegistryClient(origin.url, { ...fast, credentials: { username: 'u', password: 'p' } });
      const dest = join(dir, 'redirected');
      await c.getBlob('test/app', blob.digest, dest);
      expect(readFileSync(dest).equals(blob.bytes)).toBe(true);
      const basic = 'Basic ' + Buffer.from('u:p').toString('base64');
      expect(seen).toEqual([
        { host: 'registry', path: `/v2/test/app/blobs/${blob.digest}`, authorization: undefined },
        { host: 'registry', path: `/v2/test/app/blobs/${blob.digest}`, authorization: basic },
        { host: 'registry', path: `/storage/v2/test/app/blobs/${blob.digest}`, authorization: basic },
        { host: 'cdn', path: '/cdn/blob?sig=1', authorization: undefined },
      ]);
    } finally {
      await origin.close();
      await cdn.close();
    }
  });

  it('retries 429 (honouring Retry-After), 5xx and dropped connections', async () => {
    const blob = blobOf(Buffer.alloc(50_000, 'x'));
    const manifest = testImage('flaky').manifest;
    let manifestHits = 0;
    let blobHits = 0;
    const flaky = await serve((req, res) => {
      if (req.url?.includes('/manifests/')) {
        manifestHits++;
        if (manifestHits === 1) return void res.writeHead(429, { 'retry-after': '0' }).end();
        if (manifestHits === 2) return void res.writeHead(503).end();
        if (manifestHits === 3) return void req.socket.destroy();
        return void res.writeHead(200, { 'content-type': MediaType.OciManifest }).end(manifest.bytes);
      }
      blobHits++;
      if (blobHits === 1) {
        // headers and half the body, then the connection drops
        res.writeHead(200, { 'content-length': String(blob.size) });
        res.write(blob.bytes.subarray(0, 20_000), () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      res.end(blob.bytes);
    });
    try {
      const c = new RegistryClient(flaky.url, fast);
      expect((await c.getManifest('test/app', 'v1')).digest).toBe(manifest.digest);
      expect(manifestHits).toBe(4);
      const dest = join(dir, 'flaky');
      await c.getBlob('test/app', blob.digest, dest, { size: blob.size });
      expect(readFileSync(dest).equals(blob.bytes)).toBe(true);
      expect(blobHits).toBe(2);

      const impatient = new RegistryClient(flaky.url, { ...fast, retries: 0 });
      manifestHits = 1;
      const e = await caught(impatient.getManifest('test/app', 'v1'));
      expect(e.code).toBe('REGISTRY_ERROR');
      expect(e.message).toContain('answered 503');
    } finally {
      await flaky.close();
    }
  });

  it('stops reading a blob longer than its descriptor says', async () => {
    const blob = blobOf(Buffer.from('short'));
    const fake = await serve((_req, res) => res.end(Buffer.alloc(100_000, 'z')));
    try {
      const dest = join(dir, 'long', 'blob');
      const e = await caught(new RegistryClient(fake.url, fast).getBlob('test/app', blob.digest, dest, { size: blob.size }));
      expect(e.code).toBe('DIGEST_MISMATCH');
      expect(e.message).toContain(`more than the 5 bytes its descriptor promises, expected ${blob.digest}`);
      expect(existsSync(dest) || existsSync(`${dest}.partial`)).toBe(false);
    } finally {
      await fake.close();
    }
  });

  it('refuses schema 1 manifests and checks manifest digests', async () => {
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'test/old', tag: 'v1', fsLayers: [] }));
    const lying = testImage('lying').manifest;
    const fake = await serve((req, res) => {
      if (req.url?.endsWith('/old/manifests/v1')) {
        res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }).end(schema1);
      } else {
        res.writeHead(200, { 'content-type': MediaType.OciManifest }).end(lying.bytes);
      }
    });
    try {
      const c = new RegistryClient(fake.url, fast);
      const old = await caught(c.getManifest('test/old', 'v1'));
      expect(old.code).toBe('MANIFEST_UNSUPPORTED');
      expect(old.message).toContain('schema 1');
      const wrong = blobOf(Buffer.from('another manifest')).digest;
      const e = await caught(c.getManifest('test/app', wrong));
      expect(e.code).toBe('DIGEST_MISMATCH');
      expect(e.message).toContain(lying.digest);
      expect(e.message).toContain(wrong);
    } finally {
      await fake.close();
    }
  });
});
