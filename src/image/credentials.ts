/**
 * Registry credentials, found where users already keep them: mayfly's own `auth.json` first (what a
 * future `mayfly login` writes), then Docker's config, so a machine that can `docker pull` a private
 * image can `mayfly pull` it without another login. Both files use Docker's `auths` shape.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import { mayflyHome } from '../core/paths.js';
import { normalizeRegistry } from './reference.js';

import { readJsonFile } from './read-json-file.js';
import type { RegistryCredentials } from './registry/auth.js';

export type { RegistryCredentials };

export interface CredentialOptions {
  /** mayfly's home (auth.json lives there); default `mayflyHome()` */
  home?: string;
  /** Docker's config directory; default `$DOCKER_CONFIG`, else `~/.docker` */
  dockerConfigDir?: string;
  /** where HOME, DOCKER_CONFIG, MAYFLY_HOME and the helpers' PATH come from; default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Docker files Docker Hub credentials under this key, not under a host name. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const HELPER_TIMEOUT_MS = 60_000;

const authEntry = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
});
type AuthEntry = z.output<typeof authEntry>;

const configFile = z.looseObject({
  auths: z.record(z.string(), authEntry).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});
type ConfigFile = z.output<typeof configFile>;

/** Mayfly's auth.json first, then Docker's config: credential helpers, then inline `auths`. */
export async function getCredentials(registry: string, opts: CredentialOptions = {}): Promise<RegistryCredentials | undefined> {
  const env = opts.env ?? process.env;
  const host = normalizeRegistry(registry);

  const ownFile = join(opts.home ?? mayflyHome(env), 'auth.json');
  const own = await readConfig(ownFile);
  const fromOwn = own && inlineCredentials(own, host, ownFile);
  if (fromOwn) return fromOwn;

  const dockerDir = opts.dockerConfigDir ?? env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker');
  const dockerFile = join(dockerDir, 'config.json');
  const docker = await readConfig(dockerFile);
  if (!docker) return undefined;
  // As in Docker, a helper configured for the host (or a store for all hosts) is asked first; inline
  // `auths` are what is left when it knows nothing, e.g. from a login before the store was set up.
  const helperKey = Object.keys(docker.credHelpers ?? {}).find((k) => hostOfKey(k) === host);
  const helper = helperKey !== undefined ? docker.credHelpers?.[helperKey] : docker.credsStore;
  if (helper) {
    const fromHelper = await runHelper(helper, host, dockerFile, env);
    if (fromHelper) return fromHelper;
  }
  return inlineCredentials(docker, host, dockerFile);
}

/** Store a login in mayfly's auth.json, replacing any entry for the same registry. */
export async function saveCredentials(registry: string, username: string, password: string, opts: CredentialOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const home = opts.home ?? mayflyHome(env);
  const file = join(home, 'auth.json');
  const host = normalizeRegistry(registry);
  const current: ConfigFile = (await readConfig(file)) ?? {};
  // Drop the same registry filed under another spelling (https://ghcr.io, ghcr.io/v2/), so the
  // lookup cannot find a stale password first.
  const auths = Object.fromEntries(Object.entries(current.auths ?? {}).filter(([k]) => hostOfKey(k) !== host));
  auths[host === 'docker.io' ? DOCKER_HUB_KEY : host] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };

  await mkdir(home, { recursive: true, mode: 0o700 });
  // Write beside and rename: a reader never sees half a file, and the secret is never world-readable.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, JSON.stringify({ ...current, auths }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await rename(temporary, file);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

/** `https://index.docker.io/v1/`, `https://ghcr.io`, `ghcr.io/v2/` and `ghcr.io` all name a host. */
/** The registry host an `auths` key names: `https://index.docker.io/v1/` → docker.io, `http://h:5000/x` → h:5000. */
export function hostOfKey(key: string): string {
  const withoutScheme = key.replace(/^[a-z]+:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  return normalizeRegistry(slash === -1 ? withoutScheme : withoutScheme.slice(0, slash));
}

async function readConfig(file: string): Promise<ConfigFile | undefined> {
  const json = await readJsonFile(file, 'REGISTRY_AUTH');
  if (json === undefined) return undefined;
  const result = configFile.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new MayflyError('REGISTRY_AUTH', `${file}: ${issue?.path.join('.') || '(file)'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** An exact key wins over another spelling of the same host. */
function inlineCredentials(config: ConfigFile, host: string, file: string): RegistryCredentials | undefined {
  const auths = config.auths ?? {};
  const exact = host === 'docker.io' ? DOCKER_HUB_KEY : host;
  const key = exact in auths ? exact : Object.keys(auths).find((k) => hostOfKey(k) === host);
  const entry = key !== undefined ? auths[key] : undefined;
  return entry && key !== undefined ? decodeEntry(entry, `${file}: auths["${key}"]`) : undefined;
}

/** An entry may be empty: Docker leaves `{}` behind as a marker when a store holds the secret. */
function decodeEntry(entry: AuthEntry, where: string): RegistryCredentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new MayflyError('REGISTRY_AUTH', `${where}: "auth" is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/**
 * The docker-credential-helpers protocol: `docker-credential-<name> get`, the server URL on stdin,
 * `{"Username","Secret"}` on stdout; the user name `<token>` marks an identity token.
 */
async function runHelper(name: string, host: string, file: string, env: NodeJS.ProcessEnv): Promise<RegistryCredentials | undefined> {
  // The name comes from a file and ends up in a program name: keep it from naming another path.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new MayflyError('REGISTRY_AUTH', `${file}: "${name}" is not a credential helper name`);
  }
  const program = `docker-credential-${name}`;
  const serverUrl = host === 'docker.io' ? DOCKER_HUB_KEY : host;
  const { error, stdout, stderr } = await new Promise<{ error: ExecFileException | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(program, ['get'], { env, timeout: HELPER_TIMEOUT_MS, encoding: 'utf8' }, (err, out, errOut) =>
      resolve({ error: err, stdout: out, stderr: errOut }),
    );
    child.stdin?.on('error', () => {}); // a helper that exits without reading must not crash us (EPIPE)
    child.stdin?.end(serverUrl);
  });
  // EACCES: PATH names a directory we may not search, and the helper is in none we may
  if (error?.code === 'ENOENT' || error?.code === 'EACCES') {
    throw new MayflyError('REGISTRY_AUTH', `${file} asks the credential helper ${program} for ${host}, but it is not on PATH`, {
      hint: `install ${program}, or remove "${name}" from credsStore/credHelpers in ${file}, or point DOCKER_CONFIG at a directory without it`,
      details: { registry: host, helper: program },
    });
  }
  const output = `${stdout}\n${stderr}`.trim();
  if (error) {
    if (/credentials not found/i.test(output)) return undefined;
    throw new MayflyError('REGISTRY_AUTH', `${program} get failed for ${host}: ${error.killed ? 'timed out' : output.slice(-500) || error.message}`, {
      cause: error,
      details: { registry: host, helper: program },
    });
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch (e) {
    throw new MayflyError('REGISTRY_AUTH', `${program} get answered something that is not JSON for ${host}`, { cause: e });
  }
  if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return undefined;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
  return { username: typeof parsed.Username === 'string' ? parsed.Username : '', password: parsed.Secret };
}
