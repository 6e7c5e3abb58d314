/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it, the client's side: no channel
 * binding (gs2 header `n,,`), the user name left empty (the server takes the start-up message's).
 * The salted password is kept per (password, salt, iterations): PBKDF2's 4096 rounds cost ~5 ms,
 * and a readiness poll authenticates many times.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ScramState {
  nonce: string;
  clientFirstBare: string;
  authMessage?: string;
  saltedPassword?: Buffer;
}

const GS2 = 'n,,';
const salted = new Map<string, Buffer>();

/** `user` is left empty by PostgreSQL clients (the start-up message names the role); RFC 7677's example names one. */
export function scramClientFirst(nonce = randomBytes(18).toString('base64'), user = ''): { message: Buffer; state: ScramState } {
  const clientFirstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  return { message: Buffer.from(GS2 + clientFirstBare), state: { nonce, clientFirstBare } };
}

export function scramClientFinal(state: ScramState, password: string, serverFirst: string): { message: Buffer; state: ScramState } {
  const attrs = parseAttributes(serverFirst);
  const nonce = attrs.get('r');
  const salt = attrs.get('s');
  const iterations = Number(attrs.get('i'));
  if (!nonce?.startsWith(state.nonce) || !salt || !Number.isInteger(iterations) || iterations < 1) throw new Error(`unexpected SCRAM server-first message: ${serverFirst}`);
  const cacheKey = `${iterations}\0${salt}\0${password}`;
  let saltedPassword = salted.get(cacheKey);
  if (!saltedPassword) {
    saltedPassword = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    salted.set(cacheKey, saltedPassword);
  }
  const withoutProof = `c=${Buffer.from(GS2).toString('base64')},r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirst},${withoutProof}`;
  const clientKey = hmac(saltedPassword, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  return { message: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`), state: { ...state, authMessage, saltedPassword } };
}

/** Whether the server's final message proves it knows the password too. */
export function scramVerifyServer(state: ScramState, serverFinal: string): boolean {
  const v = parseAttributes(serverFinal).get('v');
  if (!v || !state.saltedPassword || !state.authMessage) return false;
  const expected = hmac(hmac(state.saltedPassword, 'Server Key'), state.authMessage);
  const got = Buffer.from(v, 'base64');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function parseAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}
