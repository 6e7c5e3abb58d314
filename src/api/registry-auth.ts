/**
 * Docker clients send registry credentials in the `X-Registry-Auth` header: base64 (URL-safe, often
 * unpadded) of a JSON AuthConfig `{username, password, auth, identitytoken, serveraddress, …}`. An
 * empty one (`e30=`, `{}`) means anonymous, and then mayfly's own stored credentials apply.
 */
import { z } from 'zod';
import { apiError } from './route.js';
import { hostOfKey, type RegistryCredentials } from '../image/credentials.js';

const authConfig = z.looseObject({
  username: z.string().optional(),
  password: z.string().optional(),
  /** base64 of `user:password` */
  auth: z.string().optional(),
  identitytoken: z.string().optional(),
});

const headerValue = (header: string | string[] | undefined) => (Array.isArray(header) ? header[0] : header)?.trim();

function decodeJson(value: string): unknown {
  return JSON.parse(Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
}

export function registryAuth(header: string | string[] | undefined): RegistryCredentials | undefined {
  const value = headerValue(header);
  if (!value) return undefined;
  let parsed: z.output<typeof authConfig>;
  try {
    parsed = authConfig.parse(decodeJson(value));
  } catch {
    throw apiError(400, 'X-Registry-Auth: not base64 of a JSON auth config ({"username", "password"} or {"identitytoken"})');
  }
  return credentialsOf(parsed);
}

/**
 * A build's `X-Registry-Config`: base64 of `{"<registry>": AuthConfig, …}` (keys as in Docker's
 * config, `https://index.docker.io/v1/` for Docker Hub), for the registries its FROM lines pull from.
 */
export function registryConfig(header: string | string[] | undefined): (registry: string) => RegistryCredentials | undefined {
  const value = headerValue(header);
  if (!value) return () => undefined;
  let parsed: Record<string, z.output<typeof authConfig>>;
  try {
    parsed = z.record(z.string(), authConfig).parse(decodeJson(value));
  } catch {
    throw apiError(400, 'X-Registry-Config: not base64 of a JSON object of auth configs by registry');
  }
  const byHost = new Map<string, RegistryCredentials>();
  for (const [key, config] of Object.entries(parsed)) {
    const credentials = credentialsOf(config);
    if (credentials) byHost.set(hostOfKey(key), credentials);
  }
  return (registry) => byHost.get(registry);
}

function credentialsOf(parsed: z.output<typeof authConfig>): RegistryCredentials | undefined {
  if (parsed.identitytoken) return { identityToken: parsed.identitytoken };
  if (parsed.username && parsed.password) return { username: parsed.username, password: parsed.password };
  if (parsed.auth) {
    const plain = Buffer.from(parsed.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  return undefined;
}
