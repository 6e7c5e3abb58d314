/**
 * Docker clients send registry credentials in the `X-Registry-Auth` header: base64 (URL-safe, often
 * unpadded) of a JSON AuthConfig `{username, password, auth, identitytoken, serveraddress, …}`. An
 * empty one (`e30=`, `{}`) means anonymous, and then mayfly's own stored credentials apply.
 */
import { z } from 'zod';
import { apiError } from './route.js';
import type { RegistryCredentials } from '../image/credentials.js';

const authConfig = z.looseObject({
  username: z.string().optional(),
  password: z.string().optional(),
  /** base64 of `user:password` */
  auth: z.string().optional(),
  identitytoken: z.string().optional(),
});

export function registryAuth(header: string | string[] | undefined): RegistryCredentials | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value?.trim()) return undefined;
  let parsed: z.output<typeof authConfig>;
  try {
    const json = Buffer.from(value.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    parsed = authConfig.parse(JSON.parse(json));
  } catch {
    throw apiError(400, 'X-Registry-Auth: not base64 of a JSON auth config ({"username", "password"} or {"identitytoken"})');
  }
  if (parsed.identitytoken) return { identityToken: parsed.identitytoken };
  if (parsed.username && parsed.password) return { username: parsed.username, password: parsed.password };
  if (parsed.auth) {
    const plain = Buffer.from(parsed.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  return undefined;
}
