/**
 * Registry authentication: `WWW-Authenticate` challenges, the Bearer token dance (Docker's token
 * spec and its OAuth2 refresh-token form for identity tokens), and a per-scope token cache.
 */
import { MayflyError } from '../../core/errors.js';

/** What `mayfly login` stores: a username and password, or an identity (refresh) token. */
export type RegistryCredentials = { username: string; password: string } | { identityToken: string };

export interface Challenge {
  /** lower-cased: 'basic' | 'bearer' | … */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header into its challenges. Parameter values may be quoted and
 * quoted values may contain commas (`scope="repository:a:pull,push"`).
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (re: RegExp): void => {
    while (i < header.length && re.test(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < header.length && /[^\s,=]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    // parameters: name=value pairs until the next bare token (the next scheme)
    for (;;) {
      skip(/[\s,]/);
      const save = i;
      const name = token();
      skip(/\s/);
      if (!name || header[i] !== '=') {
        i = save;
        break;
      }
      i++;
      skip(/\s/);
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < header.length && header[i] !== ',' && !/\s/.test(header[i]!)) i++;
        value = header.slice(start, i);
      }
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return challenges;
}

/** The challenge mayfly answers: Bearer if offered, else Basic. */
export function pickChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const all = parseChallenges(header);
  return all.find((c) => c.scheme === 'bearer' && c.params.realm) ?? all.find((c) => c.scheme === 'basic');
}

export type Action = 'pull' | 'push';

export function repositoryScope(repo: string, actions: readonly Action[]): string {
  return `repository:${repo}:${actions.join(',')}`;
}

export function basicAuthorization(credentials: { username: string; password: string }): string {
  return 'Basic ' + Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
}

export function authRequired(registry: string, repo: string): MayflyError {
  return new MayflyError('REGISTRY_AUTH', `authentication required for ${registry}/${repo}`, {
    hint: `run \`mayfly login ${registry}\``,
    details: { registry, repository: repo },
  });
}

export function credentialsRefused(registry: string, repo: string, why?: string): MayflyError {
  return new MayflyError(
    'REGISTRY_AUTH',
    `${registry} refused the credentials for ${registry}/${repo}${why ? ` (${why})` : ''}`,
    {
      hint: `check the username and password (or token) and run \`mayfly login ${registry}\` again`,
      details: { registry, repository: repo },
    },
  );
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Bearer tokens by realm, service and scopes, each until shortly before it expires. */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  static key(challenge: Challenge, scopes: readonly string[]): string {
    return [challenge.params.realm, challenge.params.service ?? '', ...[...scopes].sort()].join('\n');
  }

  get(key: string): string | undefined {
    const cached = this.#tokens.get(key);
    if (!cached) return undefined;
    if (cached.expiresAt <= this.#now()) {
      this.#tokens.delete(key);
      return undefined;
    }
    return cached.token;
  }

  /** `expiresInSeconds` as the token service said (60 when it did not); renewed 10 % early. */
  set(key: string, token: string, expiresInSeconds = 60, issuedAt?: number): void {
    const start = issuedAt !== undefined && issuedAt <= this.#now() ? issuedAt : this.#now();
    const lifetimeMs = Math.max(expiresInSeconds, 1) * 1000;
    this.#tokens.set(key, { token, expiresAt: start + lifetimeMs * 0.9 });
  }

  delete(key: string): void {
    this.#tokens.delete(key);
  }
}

export interface TokenRequestContext {
  registry: string;
  repo: string;
  challenge: Challenge;
  scopes: readonly string[];
  credentials: RegistryCredentials | undefined;
  /** sends one request to the token service (with the client's retries and error mapping) */
  send(url: URL, init: RequestInit, what: string): Promise<Response>;
}

/**
 * Asks the challenge's realm for a token: GET with Basic credentials (or anonymously), or for an
 * identity token the OAuth2 form `POST grant_type=refresh_token`. Returns the token and its
 * lifetime in seconds.
 */
export async function requestToken(ctx: TokenRequestContext): Promise<{ token: string; expiresIn: number; issuedAt?: number }> {
  const { challenge, scopes, credentials, registry, repo } = ctx;
  const realm = new URL(challenge.params.realm!);
  const service = challenge.params.service;
  let res: Response;
  const what = `a token from ${realm.origin}${realm.pathname}`;
  if (credentials && 'identityToken' in credentials) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'mayfly' });
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    res = await ctx.send(realm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    }, what);
  } else {
    if (service) realm.searchParams.set('service', service);
    for (const scope of scopes) realm.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    if (credentials) headers.authorization = basicAuthorization(credentials);
    res = await ctx.send(realm, { method: 'GET', headers }, what);
  }
  const text = await res.text();
  if (res.status === 401 || res.status === 403) {
    if (!credentials) throw authRequired(registry, repo);
    throw credentialsRefused(registry, repo, `token service answered ${res.status}`);
  }
  if (!res.ok) {
    throw new MayflyError('REGISTRY_AUTH', `the token service of ${registry} answered ${res.status} for ${registry}/${repo}`, {
      hint: 'the registry may be having trouble; try again later',
      details: { registry, repository: repo, realm: challenge.params.realm, status: res.status, body: text.slice(0, 500) },
    });
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = {};
  }
  const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
  if (typeof token !== 'string' || !token) {
    throw new MayflyError('REGISTRY_AUTH', `the token service of ${registry} sent no token for ${registry}/${repo}`, {
      details: { registry, repository: repo, realm: challenge.params.realm },
    });
  }
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
  const issuedAt = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : NaN;
  return Number.isFinite(issuedAt) ? { token, expiresIn, issuedAt } : { token, expiresIn };
}
