/**
 * RegistryClient against real registries that demand credentials: htpasswd Basic auth, and
 * Bearer token auth through a token issuer (test/support/registry.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caught } from '../../../test/support/runtime.js';
import { isMayflyError, type MayflyError } from '../../core/errors.js';
import { pushTestImage, startRegistry, testImage, type StartedRegistry } from '../../../test/support/registry.js';
import { RegistryClient } from './client.js';

let basic: StartedRegistry;
let token: StartedRegistry;
let dir: string;
const fast = { retryDelay: { baseMs: 5, maxMs: 20 } };

beforeAll(async () => {
  [basic, token] = await Promise.all([startRegistry('basic'), startRegistry('token')]);
  dir = mkdtempSync(join(tmpdir(), 'mayfly-registry-auth-'));
});

afterAll(async () => {
  await Promise.all([basic?.stop(), token?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});


function credentialsOf(r: StartedRegistry): { username: string; password: string } {
  return { username: r.username!, password: r.password! };
}

describe.each([
  ['basic', () => basic],
  ['token', () => token],
])('%s auth', (kind, registryOf) => {
  const image = testImage(`auth-${kind}`);

  beforeAll(async () => {
    const r = registryOf();
    const pusher = new RegistryClient(r.url, { ...fast, credentials: credentialsOf(r) });
    await pushTestImage(pusher, 'private/app', 'v1', image, dir);
  });

  it('pulls with good credentials', async () => {
    const r = registryOf();
    const c = new RegistryClient(r.url, { ...fast, credentials: credentialsOf(r) });
    const pulled = await c.getManifest('private/app', 'v1');
    expect(pulled.digest).toBe(image.manifest.digest);
    const dest = join(dir, `${kind}-layer`);
    await c.getBlob('private/app', image.layers[0]!.digest, dest, { size: image.layers[0]!.size });
    expect(readFileSync(dest).equals(image.layers[0]!.bytes)).toBe(true);
    expect(await c.headManifest('private/app', 'v1')).toBe(image.manifest.digest);
  });

  it('without credentials: REGISTRY_AUTH with the login hint', async () => {
    const r = registryOf();
    const e = await caught(new RegistryClient(r.url, fast).getManifest('private/app', 'v1'));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain(`authentication required for ${r.host}/private/app`);
    expect(e.hint).toBe(`run \`mayfly login ${r.host}\``);
  });

  it('with wrong credentials: REGISTRY_AUTH saying they were refused', async () => {
    const r = registryOf();
    const c = new RegistryClient(r.url, { ...fast, credentials: { username: r.username!, password: 'wrong' } });
    const e = await caught(c.getManifest('private/app', 'v1'));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain(`${r.host} refused the credentials for ${r.host}/private/app`);
    expect(e.hint).toContain(`mayfly login ${r.host}`);
  });
});

describe('token auth', () => {
  const image = testImage('token-cache');

  beforeAll(async () => {
    const pusher = new RegistryClient(token.url, { ...fast, credentials: credentialsOf(token) });
    await pushTestImage(pusher, 'cached/app', 'v1', image, dir);
  });

  it('asks the issuer once per scope and reuses the token', async () => {
    const c = new RegistryClient(token.url, { ...fast, credentials: credentialsOf(token) });
    const before = token.issuer!.requests.length;
    const { manifest } = await c.getManifest('cached/app', 'v1');
    await Promise.all(
      [manifest.config, ...manifest.layers].map((d) => c.getBlob('cached/app', d.digest, join(dir, 'cache', d.digest), { size: d.size })),
    );
    await c.headManifest('cached/app', 'v1');
    const asked = token.issuer!.requests.slice(before);
    expect(asked).toEqual([{ method: 'GET', grant: 'basic', scopes: ['repository:cached/app:pull'], granted: true }]);

    // another scope is another token
    expect(await c.blobExists('other/app', manifest.config.digest)).toBe(false);
    expect(token.issuer!.requests.length).toBe(before + 2);
  });

  it('pushes with a pull,push token and mounts across repositories with both scopes', async () => {
    const c = new RegistryClient(token.url, { ...fast, credentials: credentialsOf(token) });
    const before = token.issuer!.requests.length;
    expect(await c.mountBlob('cached/copy', image.layers[0]!.digest, 'cached/app')).toBe(true);
    expect(token.issuer!.requests.slice(before)).toEqual([
      { method: 'GET', grant: 'basic', scopes: ['repository:cached/copy:pull,push', 'repository:cached/app:pull'], granted: true },
    ]);
  });

  it('trades an identity token for an access token (OAuth2 refresh_token grant)', async () => {
    const c = new RegistryClient(token.url, { ...fast, credentials: { identityToken: token.identityToken! } });
    expect((await c.getManifest('cached/app', 'v1')).digest).toBe(image.manifest.digest);
    expect(token.issuer!.requests.at(-1)).toEqual({ method: 'POST', grant: 'refresh_token', scopes: ['repository:cached/app:pull'], granted: true });

    const e = await caught(new RegistryClient(token.url, { ...fast, credentials: { identityToken: 'stale' } }).getManifest('cached/app', 'v1'));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain('refused the credentials');
  });
});
