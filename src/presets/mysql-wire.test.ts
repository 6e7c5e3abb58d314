import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authResponse, quoteIdent, quoteLiteral } from './mysql-wire.js';

// mysql2 (a dev dependency) as an independent implementation of the same scrambles
const require = createRequire(import.meta.url);
const mysql2 = dirname(require.resolve('mysql2'));
const native = require(join(mysql2, 'lib/auth_41.js')) as { calculateToken(password: string, s1: Buffer, s2: Buffer): Buffer };
const sha2 = require(join(mysql2, 'lib/auth_plugins/caching_sha2_password.js')) as { calculateToken(password: string, scramble: Buffer): Buffer };

describe('MySQL authentication scrambles', () => {
  const scramble = Buffer.from('0123456789abcdefghij');
  it.each(['test', 'p@ss:w/rd?#%', 'ünïcödé'])('mysql_native_password and caching_sha2_password agree with mysql2 for %j', (password) => {
    expect(authResponse('mysql_native_password', password, scramble)).toEqual(native.calculateToken(password, scramble.subarray(0, 8), scramble.subarray(8)));
    expect(authResponse('caching_sha2_password', password, scramble)).toEqual(sha2.calculateToken(password, scramble));
  });
  it('an empty password answers with nothing; an unknown plugin is named', () => {
    expect(authResponse('caching_sha2_password', '', scramble)).toHaveLength(0);
    expect(() => authResponse('client_ed25519', 'x', scramble)).toThrow(/client_ed25519 is not supported/);
  });
  it('quotes identifiers and literals', () => {
    expect(quoteIdent('my`db')).toBe('`my``db`');
    expect(quoteLiteral("o'neil")).toBe("'o''neil'");
    expect(() => quoteLiteral('a\\b')).toThrow(/backslash/);
  });
});
