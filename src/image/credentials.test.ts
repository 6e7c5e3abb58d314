import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getCredentials, saveCredentials } from './credentials.js';

const root = mkdtempSync(join(tmpdir(), 'mayfly-credentials-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
/** A fresh mayfly home and Docker config dir, with the given files; never the real ~/.docker. */
function dirs(files: { auth?: unknown; docker?: unknown } = {}) {
  const base = join(root, String(count++));
  const home = join(base, 'home');
  const dockerConfigDir = join(base, 'docker');
  mkdirSync(home, { recursive: true });
  mkdirSync(dockerConfigDir, { recursive: true });
  if (files.auth !== undefined) writeFileSync(join(home, 'auth.json'), JSON.stringify(files.auth));
  if (files.docker !== undefined) writeFileSync(join(dockerConfigDir, 'config.json'), JSON.stringify(files.docker));
  return { home, dockerConfigDir, env: { PATH: `${helpers}:${process.env.PATH ?? '/usr/bin:/bin'}` } };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

// Fake docker-credential-* helpers that answer the way docker-credential-helpers do.
const helpers = join(root, 'bin');
mkdirSync(helpers);
function helper(name: string, script: string) {
  const file = join(helpers, `docker-credential-${name}`);
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
}
helper(
  'fake',
  `[ "$1" = get ] || exit 2
read url
case "$url" in
  https://index.docker.io/v1/) echo '{"ServerURL":"'$url'","Username":"hubuser","Secret":"hubpass"}' ;;
  ghcr.io) echo '{"ServerURL":"ghcr.io","Username":"<token>","Secret":"refresh-token"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`,
);
helper('broken', 'echo "the keychain is locked" >&2; exit 3');
helper('garbage', 'echo "not json"');

describe('getCredentials from config files', () => {
  const cases: Array<[string, { auth?: unknown; docker?: unknown }, string, unknown]> = [
    ['nothing configured', {}, 'docker.io', undefined],
    ['Docker Hub under its legacy key, auth base64', { docker: { auths: { 'https://index.docker.io/v1/': { auth: b64('u:p:w') } } } }, 'docker.io', { username: 'u', password: 'p:w' }],
    ['Docker Hub asked as index.docker.io', { docker: { auths: { 'https://index.docker.io/v1/': { auth: b64('u:p') } } } }, 'index.docker.io', { username: 'u', password: 'p' }],
    ['a bare host key with username/password', { docker: { auths: { 'ghcr.io': { username: 'u', password: 'p' } } } }, 'ghcr.io', { username: 'u', password: 'p' }],
    ['a key with a scheme and path', { docker: { auths: { 'https://reg.corp:5000/v2/': { auth: b64('u:p') } } } }, 'reg.corp:5000', { username: 'u', password: 'p' }],
    ['an identity token', { docker: { auths: { 'ghcr.io': { identitytoken: 'tok', auth: b64('u:p') } } } }, 'ghcr.io', { identityToken: 'tok' }],
    ['another host is not matched', { docker: { auths: { 'ghcr.io': { auth: b64('u:p') } } } }, 'quay.io', undefined],
    ['a port matters', { docker: { auths: { 'reg.corp:5000': { auth: b64('u:p') } } } }, 'reg.corp', undefined],
    ['an empty marker entry is no credentials', { docker: { auths: { 'ghcr.io': {} } } }, 'ghcr.io', undefined],
    [
      "mayfly's auth.json wins over Docker's",
      { auth: { auths: { 'ghcr.io': { auth: b64('mine:1') } } }, docker: { auths: { 'ghcr.io': { auth: b64('docker:2') } } } },
      'ghcr.io',
      { username: 'mine', password: '1' },
    ],
    [
      "Docker's config when auth.json has nothing for the host",
      { auth: { auths: { 'quay.io': { auth: b64('mine:1') } } }, docker: { auths: { 'ghcr.io': { auth: b64('docker:2') } } } },
      'ghcr.io',
      { username: 'docker', password: '2' },
    ],
    [
      'an exact key wins over another spelling',
      { docker: { auths: { 'https://ghcr.io': { auth: b64('old:1') }, 'ghcr.io': { auth: b64('new:2') } } } },
      'ghcr.io',
      { username: 'new', password: '2' },
    ],
  ];
  it.each(cases)('%s', async (_what, files, registry, expected) => {
    const { env, ...opts } = dirs(files);
    expect(await getCredentials(registry, { ...opts, env })).toEqual(expected);
  });

  it('finds Docker config through DOCKER_CONFIG and then HOME', async () => {
    const { home, dockerConfigDir } = dirs({ docker: { auths: { 'ghcr.io': { auth: b64('u:p') } } } });
    expect(await getCredentials('ghcr.io', { home, env: { DOCKER_CONFIG: dockerConfigDir } })).toEqual({ username: 'u', password: 'p' });
    const fakeHome = join(root, 'fake-home');
    mkdirSync(join(fakeHome, '.docker'), { recursive: true });
    writeFileSync(join(fakeHome, '.docker', 'config.json'), JSON.stringify({ auths: { 'quay.io': { auth: b64('q:1') } } }));
    expect(await getCredentials('quay.io', { home, env: { HOME: fakeHome } })).toEqual({ username: 'q', password: '1' });
  });

  it('reports a malformed file by name', async () => {
    const opts = dirs();
    writeFileSync(join(opts.dockerConfigDir, 'config.json'), '{');
    await expect(getCredentials('ghcr.io', opts)).rejects.toMatchObject({ code: 'REGISTRY_AUTH', message: expect.stringContaining(join(opts.dockerConfigDir, 'config.json')) });
    const bad = dirs({ docker: { auths: { 'ghcr.io': { auth: b64('no-colon') } } } });
    await expect(getCredentials('ghcr.io', bad)).rejects.toMatchObject({ code: 'REGISTRY_AUTH', message: expect.stringContaining('auths["ghcr.io"]') });
    const wrongType = dirs({ docker: { auths: { 'ghcr.io': { auth: 42 } } } });
    await expect(getCredentials('ghcr.io', wrongType)).rejects.toMatchObject({ code: 'REGISTRY_AUTH', message: expect.stringContaining('auths.ghcr.io.auth') });
  });
});

describe('getCredentials from credential helpers', () => {
  it('asks a credHelpers helper with the server URL on stdin', async () => {
    const opts = dirs({ docker: { credHelpers: { 'https://index.docker.io/v1/': 'fake', 'ghcr.io': 'fake' } } });
    expect(await getCredentials('docker.io', opts)).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(await getCredentials('ghcr.io', opts)).toEqual({ identityToken: 'refresh-token' });
  });

  it('asks the credsStore for every host; not found falls back to inline auths, then to nothing', async () => {
    const opts = dirs({ docker: { credsStore: 'fake', auths: { 'quay.io': { auth: b64('inline:1') } } } });
    expect(await getCredentials('docker.io', opts)).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(await getCredentials('quay.io', opts)).toEqual({ username: 'inline', password: '1' });
    expect(await getCredentials('other.io', opts)).toBeUndefined();
  });

  it('prefers the host helper over the store', async () => {
    const opts = dirs({ docker: { credsStore: 'broken', credHelpers: { 'ghcr.io': 'fake' } } });
    expect(await getCredentials('ghcr.io', opts)).toEqual({ identityToken: 'refresh-token' });
  });

  it('explains a missing helper', async () => {
    const opts = dirs({ docker: { credHelpers: { 'ghcr.io': 'nonexistent' } } });
    const error = await getCredentials('ghcr.io', opts).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_AUTH', hint: expect.stringContaining('install docker-credential-nonexistent') });
    expect((error as Error).message).toContain('docker-credential-nonexistent for ghcr.io, but it is not on PATH');
  });

  it('reports a failing or confused helper', async () => {
    await expect(getCredentials('ghcr.io', dirs({ docker: { credsStore: 'broken' } }))).rejects.toMatchObject({
      code: 'REGISTRY_AUTH',
      message: expect.stringContaining('the keychain is locked'),
    });
    await expect(getCredentials('ghcr.io', dirs({ docker: { credsStore: 'garbage' } }))).rejects.toMatchObject({
      code: 'REGISTRY_AUTH',
      message: expect.stringContaining('not JSON'),
    });
  });

  it('refuses a helper name that would name another path', async () => {
    await expect(getCredentials('ghcr.io', dirs({ docker: { credsStore: '../../bin/sh' } }))).rejects.toMatchObject({
      code: 'REGISTRY_AUTH',
      message: expect.stringContaining('not a credential helper name'),
    });
  });
});

describe('saveCredentials', () => {
  it('writes auth.json with mode 0600, keeps other entries and replaces other spellings', async () => {
    const opts = dirs({ auth: { auths: { 'https://ghcr.io': { auth: b64('stale:0') }, 'quay.io': { auth: b64('q:1') } }, extra: true } });
    await saveCredentials('ghcr.io', 'u', 'p', opts);
    await saveCredentials('index.docker.io', 'hub', 's3cret', opts);
    const file = join(opts.home, 'auth.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      extra: true,
      auths: {
        'quay.io': { auth: b64('q:1') },
        'ghcr.io': { auth: b64('u:p') },
        'https://index.docker.io/v1/': { auth: b64('hub:s3cret') },
      },
    });
    expect(readdirSync(opts.home)).toEqual(['auth.json']); // no temporary file left behind
    expect(await getCredentials('ghcr.io', opts)).toEqual({ username: 'u', password: 'p' });
    expect(await getCredentials('docker.io', opts)).toEqual({ username: 'hub', password: 's3cret' });
  });

  it('creates the home directory', async () => {
    const opts = dirs();
    const home = join(opts.home, 'nested', 'home');
    await saveCredentials('localhost:5000', 'a', 'b', { ...opts, home });
    expect(await getCredentials('localhost:5000', { ...opts, home })).toEqual({ username: 'a', password: 'b' });
  });
});
