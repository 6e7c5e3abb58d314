/**
 * Real OCI registries for tests: Debian's `docker-registry` (Docker Distribution 2.8) in a temp
 * dir on a free loopback port, anonymous (`plain`), with htpasswd Basic auth (`basic`), or with
 * Bearer token auth (`token`) backed by a tiny token issuer that runs in the test process.
 *
 * System packages: docker-registry, apache2-utils (htpasswd, for `basic`), openssl (for `token`).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, createSign, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

export type RegistryKind = 'plain' | 'basic' | 'token';

export interface TokenRequest {
  method: string;
  /** 'basic', 'refresh_token' or 'anonymous' */
  grant: 'basic' | 'refresh_token' | 'anonymous';
  scopes: string[];
  granted: boolean;
}

export interface StartedRegistry {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  /** e.g. `127.0.0.1:40123` */
  host: string;
  username?: string;
  password?: string;
  /** token registries only: a refresh token the issuer accepts (an "identity token") */
  identityToken?: string;
  /** token registries only: the issuer, and every request it answered */
  issuer?: { url: string; requests: TokenRequest[] };
  stop(): Promise<void>;
}

const USERNAME = 'mayfly';
const PASSWORD = 'mayfly-secret';
const SERVICE = 'mayfly-test';
const ISSUER = 'mayfly-test-issuer';

export interface RegistryOptions {
  /** run as a pull-through cache of this registry (Distribution's proxy mode; pushes are refused) */
  proxyOf?: string;
}

export async function startRegistry(kind: RegistryKind, opts: RegistryOptions = {}): Promise<StartedRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'mayfly-registry-'));
  let issuer: TokenIssuer | undefined;
  try {
    let auth = '';
    if (kind === 'basic') {
      // bcrypt is the only hash Distribution accepts
      const line = execFileSync('htpasswd', ['-Bbn', USERNAME, PASSWORD], { encoding: 'utf8' }).trim();
      writeFileSync(join(dir, 'htpasswd'), line + '\n');
      auth = `auth:\n  htpasswd:\n    realm: mayfly-test\n    path: ${join(dir, 'htpasswd')}\n`;
    } else if (kind === 'token') {
      issuer = await startTokenIssuer(dir);
      auth =
        `auth:\n  token:\n    realm: ${issuer.url}/token\n    service: ${SERVICE}\n` +
        `    issuer: ${ISSUER}\n    rootcertbundle: ${join(dir, 'cert.pem')}\n`;
    }
    // The port is found by binding :0 and closing; if another process takes it in between, the
    // registry fails to start and we try again with a new one.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const config =
        `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n` +
        `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\n` +
        `http:\n  addr: 127.0.0.1:${port}\n  secret: ${randomUUID()}\n` +
        (opts.proxyOf ? `proxy:\n  remoteurl: ${opts.proxyOf}\n` : '') +
        auth;
      writeFileSync(join(dir, 'config.yml'), config);
      const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
        const url = `http://127.0.0.1:${port}`;
        await waitUntilServing(child, url);
        const started: StartedRegistry = {
          url,
          host: `127.0.0.1:${port}`,
          stop: async () => {
            await stopChild(child);
            await issuer?.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
        if (kind !== 'plain') Object.assign(started, { username: USERNAME, password: PASSWORD });
        if (issuer) {
          started.identityToken = issuer.refreshToken;
          started.issuer = { url: issuer.url, requests: issuer.requests };
        }
        return started;
      } catch (e) {
        await stopChild(child);
        lastError = e;
      }
    }
    throw lastError;
  } catch (e) {
    await issuer?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntilServing(child: ChildProcess, url: string, timeoutMs = 10_000): Promise<void> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  child.once('error', (e) => {
    exited = `could not be started: ${e.message}`;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `docker-registry at ${url} ${exited ?? `did not answer within ${timeoutMs} ms`}\n${stderr.trim()}`,
  );
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

interface TokenIssuer {
  url: string;
  refreshToken: string;
  requests: TokenRequest[];
  close(): Promise<void>;
}

/**
 * The token service of Distribution's token auth: checks Basic credentials (or a refresh token),
 * answers with an RS256 JWT whose `x5c` header carries the certificate the registry trusts.
 * Anonymous requests get a token that grants nothing, as public registries do for private repos.
 */
async function startTokenIssuer(dir: string): Promise<TokenIssuer> {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem',
      '-days', '2', '-subj', '/CN=mayfly-test-issuer'],
    { cwd: dir, stdio: 'pipe' },
  );
  const key = readFileSync(join(dir, 'key.pem'), 'utf8');
  const certDer = new X509Certificate(readFileSync(join(dir, 'cert.pem'))).raw.toString('base64');
  const refreshToken = `refresh-${randomUUID()}`;
  const requests: TokenRequest[] = [];

  const sign = (subject: string, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const m = /^repository:(.+):([a-z*,]+)$/.exec(s);
      return m ? [{ type: 'repository', name: m[1], actions: m[2]!.split(',') }] : [];
    });
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const body =
      b64({ alg: 'RS256', typ: 'JWT', x5c: [certDer] }) +
      '.' +
      b64({ iss: ISSUER, sub: subject, aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access });
    return body + '.' + createSign('RSA-SHA256').update(body).sign(key).toString('base64url');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://issuer');
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (url.pathname !== '/token') return reply(404, { error: 'not found' });
    if (req.method === 'POST') {
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      const form = new URLSearchParams(raw);
      const scopes = form.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      const ok = form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === refreshToken;
      requests.push({ method: 'POST', grant: 'refresh_token', scopes, granted: ok });
      if (!ok) return reply(401, { error: 'invalid_grant' });
      return reply(200, { access_token: sign(USERNAME, scopes), expires_in: 300, scope: scopes.join(' ') });
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const authorization = req.headers.authorization;
    if (!authorization) {
      requests.push({ method: 'GET', grant: 'anonymous', scopes, granted: true });
      return reply(200, { token: sign('', []), expires_in: 300 });
    }
    const [user, pass] = Buffer.from(authorization.replace(/^Basic /i, ''), 'base64').toString().split(':');
    const ok = user === USERNAME && pass === PASSWORD;
    requests.push({ method: 'GET', grant: 'basic', scopes, granted: ok });
    if (!ok) return reply(401, { details: 'incorrect username or password' });
    return reply(200, { token: sign(USERNAME, scopes), expires_in: 300, issued_at: new Date().toISOString() });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    refreshToken,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// -------------------------------------------------------------------------------------------------
// Synthetic images to push: gzip tar layers, a config and a manifest, all small and deterministic.

export interface TestBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export function blobOf(bytes: Buffer, mediaType = 'application/octet-stream'): TestBlob {
  return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, bytes };
}

/** A ustar archive of regular files (enough for a layer). */
export function tarOf(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string): void => {
      header.write(value, offset, length, 'ascii');
    };
    const octal = (offset: number, length: number, value: number): void => field(offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
    field(0, 100, name);
    octal(100, 8, 0o644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, data.length);
    octal(136, 12, 1_700_000_000);
    field(148, 8, '        ');
    field(156, 1, '0');
    field(257, 6, 'ustar\0');
    field(263, 2, '00');
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface TestImage {
  config: TestBlob;
  layers: TestBlob[];
  /** the manifest as pushed */
  manifest: TestBlob;
}

/** An OCI image of two gzip layers for `architecture`; `seed` makes its contents unique. */
export function testImage(seed: string, architecture = 'amd64', variant?: string): TestImage {
  const layers = [
    blobOf(gzipSync(tarOf({ 'etc/hello.txt': `hello from ${seed}\n` })), 'application/vnd.oci.image.layer.v1.tar+gzip'),
    blobOf(gzipSync(tarOf({ [`opt/${seed}.bin`]: Buffer.alloc(3000, seed) })), 'application/vnd.oci.image.layer.v1.tar+gzip'),
  ];
  const config = blobOf(
    Buffer.from(JSON.stringify({
      architecture,
      ...(variant ? { variant } : {}),
      os: 'linux',
      config: { Cmd: ['/bin/sh'], Labels: { seed } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${createHash('sha256').update(gunzipSync(l.bytes)).digest('hex')}`) },
    })),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = blobOf(
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    })),
    'application/vnd.oci.image.manifest.v1+json',
  );
  return { config, layers, manifest };
}

/** The parts of a registry client `pushTestImage` needs. */
export interface BlobPusher {
  uploadBlob(repo: string, digest: string, source: string, options?: { chunkSize?: number }): Promise<string>;
  putManifest(repo: string, tag: string, raw: Buffer, mediaType: string): Promise<string>;
}

/** Pushes config, layers and manifest (written to files in `dir` first); returns the manifest digest. */
export async function pushTestImage(client: BlobPusher, repo: string, tag: string, image: TestImage, dir: string): Promise<string> {
  for (const blob of [image.config, ...image.layers]) {
    const file = join(dir, blob.digest.replace(':', '-'));
    writeFileSync(file, blob.bytes);
    await client.uploadBlob(repo, blob.digest, file);
  }
  return client.putManifest(repo, tag, image.manifest.bytes, image.manifest.mediaType);
}
