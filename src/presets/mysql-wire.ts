/**
 * A small MySQL/MariaDB client over the client/server protocol: the v10 handshake, password
 * authentication (mysql_native_password; caching_sha2_password, MySQL 8's default, with its fast
 * path and the RSA exchange of a full authentication over plain TCP), and text queries, several
 * statements per call. It is what the MySQL and MariaDB presets need to know the server is ready (a
 * real query over TCP with the configured user, ~1 ms from the host) and to copy databases; tests
 * use a real driver (mysql2).
 */
import { constants, createHash, publicEncrypt } from 'node:crypto';
import type { Socket } from 'node:net';
import { FramedConnection, openConnection } from './framed-connection.js';

export interface MysqlConnectOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** none: connect without a default database */
  database?: string;
  /** the whole connect, authentication included; default 5000 ms */
  timeoutMs?: number;
}

/** An error the server sent (ERR packet): `errno` is its error number, `sqlState` its SQLSTATE. */
export class MysqlServerError extends Error {
  constructor(
    message: string,
    readonly errno: number,
    readonly sqlState: string,
  ) {
    super(message);
  }
}

export interface MysqlResult {
  /** column names of the statement's result set (empty for statements that return none) */
  columns: string[];
  /** rows as text (null for NULL) */
  rows: (string | null)[][];
  affectedRows: number;
}

const CLIENT = {
  LONG_PASSWORD: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  PROTOCOL_41: 0x200,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
};
const SERVER_MORE_RESULTS_EXISTS = 0x0008;
/** utf8mb4_general_ci: known to MySQL 5.5+ and every MariaDB */
const UTF8MB4 = 45;

export class MysqlConnection extends FramedConnection<Buffer> {
  private seq = 0;
  /** what the server says it is, e.g. `8.4.3` or `10.11.14-MariaDB-0+deb12u2` */
  serverVersion = '';

  private constructor(socket: Socket) {
    super(socket);
  }

  static connect(o: MysqlConnectOptions): Promise<MysqlConnection> {
    return openConnection(o, (socket) => new MysqlConnection(socket), (c) => c.handshake(o));
  }

  protected cut(buffer: Buffer): { frame: Buffer; length: number } | undefined {
    if (buffer.length < 4) return undefined;
    const len = buffer.readUIntLE(0, 3);
    if (buffer.length < 4 + len) return undefined;
    this.seq = (buffer[3]! + 1) & 0xff;
    return { frame: buffer.subarray(4, 4 + len), length: 4 + len };
  }

  get isMariadb(): boolean {
    return /mariadb/i.test(this.serverVersion);
  }

  private async handshake(o: MysqlConnectOptions): Promise<void> {
    const hello = await this.next();
    if (hello[0] === 0xff) throw serverError(hello);
    if (hello[0] !== 10) throw new Error(`unexpected handshake protocol ${hello[0]}`);
    const r = new Reader(hello, 1);
    this.serverVersion = r.nulString();
    r.skip(4); // connection id
    let scramble = r.bytes(8);
    r.skip(1);
    let caps = r.u16();
    r.skip(1 + 2); // charset, status
    caps |= r.u16() << 16;
    const authDataLength = r.u8();
    r.skip(10);
    if (caps & CLIENT.SECURE_CONNECTION) scramble = Buffer.concat([scramble, r.bytes(Math.max(13, authDataLength - 8) - 1)]);
    r.skip(1);
    let plugin = caps & CLIENT.PLUGIN_AUTH ? r.nulString() : 'mysql_native_password';
    if (!(caps & CLIENT.PROTOCOL_41)) throw new Error('the server does not speak protocol 4.1');

    const flags = CLIENT.LONG_PASSWORD | CLIENT.FOUND_ROWS | CLIENT.LONG_FLAG | CLIENT.PROTOCOL_41 | CLIENT.TRANSACTIONS | CLIENT.SECURE_CONNECTION | CLIENT.MULTI_STATEMENTS | CLIENT.MULTI_RESULTS | CLIENT.PLUGIN_AUTH | (o.database ? CLIENT.CONNECT_WITH_DB : 0);
    const head = Buffer.alloc(32);
    head.writeUInt32LE(flags >>> 0, 0);
    head.writeUInt32LE(1 << 24, 4);
    head[8] = UTF8MB4;
    const auth = authResponse(plugin, o.password, scramble);
    this.send(
      Buffer.concat([head, nul(o.user), Buffer.from([auth.length]), auth, o.database ? nul(o.database) : Buffer.alloc(0), nul(plugin)]),
      false,
    );
    for (;;) {
      const p = await this.next();
      if (p[0] === 0x00) return;
      if (p[0] === 0xff) throw serverError(p);
      if (p[0] === 0xfe) {
        // AuthSwitchRequest: another plugin, with fresh data
        const s = new Reader(p, 1);
        plugin = s.nulString();
        scramble = s.rest();
        if (scramble[scramble.length - 1] === 0) scramble = scramble.subarray(0, -1);
        this.send(authResponse(plugin, o.password, scramble), false);
        continue;
      }
      if (p[0] === 0x01 && plugin === 'caching_sha2_password') {
        if (p[1] === 0x03) continue; // fast authentication succeeded: OK follows
        if (p[1] === 0x04) {
          // full authentication over plain TCP: the password goes RSA-encrypted with the server's key
          this.send(Buffer.from([0x02]), false);
          const key = await this.next();
          if (key[0] === 0xff) throw serverError(key);
          const plain = xor(nul(o.password), scramble);
          this.send(publicEncrypt({ key: key.subarray(1).toString(), padding: constants.RSA_PKCS1_OAEP_PADDING }, plain), false);
          continue;
        }
      }
      throw new Error(`unexpected packet 0x${p[0]?.toString(16)} during authentication (${plugin})`);
    }
  }

  /** Runs one or more statements (`;`-separated); resolves with one result per statement, rejects with the first server error. */
  async query(sql: string): Promise<MysqlResult[]> {
    this.seq = 0;
    this.send(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]), false);
    const results: MysqlResult[] = [];
    for (;;) {
      const first = await this.next();
      if (first[0] === 0xff) throw serverError(first);
      if (first[0] === 0x00) {
        const r = new Reader(first, 1);
        const affectedRows = r.lenenc();
        r.lenenc(); // last insert id
        const status = r.u16();
        results.push({ columns: [], rows: [], affectedRows });
        if (status & SERVER_MORE_RESULTS_EXISTS) continue;
        return results;
      }
      const count = new Reader(first, 0).lenenc();
      const columns: string[] = [];
      for (let i = 0; i < count; i++) columns.push(columnName(await this.next()));
      await this.next(); // EOF after the column definitions
      const rows: (string | null)[][] = [];
      let status = 0;
      for (;;) {
        const p = await this.next();
        if (p[0] === 0xfe && p.length < 9) {
          status = p.readUInt16LE(3);
          break;
        }
        if (p[0] === 0xff) throw serverError(p);
        const r = new Reader(p, 0);
        rows.push(columns.map(() => r.lenencString()));
      }
      results.push({ columns, rows, affectedRows: 0 });
      if (!(status & SERVER_MORE_RESULTS_EXISTS)) return results;
    }
  }

  close(): Promise<void> {
    return this.end(this.packet(Buffer.from([0x01]), true)); // COM_QUIT
  }

  private send(payload: Buffer, reset: boolean): void {
    this.socket.write(this.packet(payload, reset));
  }

  /** A packet with the next sequence number (0 when a command starts a new exchange). */
  private packet(payload: Buffer, reset: boolean): Buffer {
    if (reset) this.seq = 0;
    const head = Buffer.alloc(4);
    head.writeUIntLE(payload.length, 0, 3);
    head[3] = this.seq++ & 0xff;
    return Buffer.concat([head, payload]);
  }
}

/** The scramble a plugin answers with; an empty password answers with nothing. */
export function authResponse(plugin: string, password: string, scramble: Buffer): Buffer {
  if (!password) return Buffer.alloc(0);
  const pw = Buffer.from(password);
  if (plugin === 'mysql_native_password') {
    // SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password)))
    const h1 = sha('sha1', pw);
    return xor(h1, sha('sha1', Buffer.concat([scramble.subarray(0, 20), sha('sha1', h1)])));
  }
  if (plugin === 'caching_sha2_password') {
    // SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble)
    const h1 = sha('sha256', pw);
    return xor(h1, sha('sha256', Buffer.concat([sha('sha256', h1), scramble.subarray(0, 20)])));
  }
  if (plugin === 'mysql_clear_password') return nul(password);
  throw new Error(`authentication plugin ${plugin} is not supported (mysql_native_password and caching_sha2_password are)`);
}

function sha(algorithm: string, data: Buffer): Buffer {
  return createHash(algorithm).update(data).digest();
}

/** a XOR b, b repeated as needed */
function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!;
  return out;
}

function nul(s: string): Buffer {
  return Buffer.from(`${s}\0`);
}

function serverError(p: Buffer): MysqlServerError {
  const errno = p.readUInt16LE(1);
  const hasState = p[3] === 0x23; // '#'
  const sqlState = hasState ? p.subarray(4, 9).toString() : '';
  const message = p.subarray(hasState ? 9 : 3).toString();
  return new MysqlServerError(message, errno, sqlState);
}

function columnName(p: Buffer): string {
  const r = new Reader(p, 0);
  for (let i = 0; i < 4; i++) r.lenencString(); // catalog, schema, table, original table
  return r.lenencString() ?? '';
}

class Reader {
  constructor(
    private readonly b: Buffer,
    private i: number,
  ) {}

  skip(n: number): void {
    this.i += n;
  }

  u8(): number {
    return this.b[this.i++]!;
  }

  u16(): number {
    const v = this.b.readUInt16LE(this.i);
    this.i += 2;
    return v;
  }

  bytes(n: number): Buffer {
    const v = this.b.subarray(this.i, this.i + n);
    this.i += n;
    return v;
  }

  rest(): Buffer {
    return this.b.subarray(this.i);
  }

  nulString(): string {
    const end = this.b.indexOf(0, this.i);
    const v = this.b.subarray(this.i, end < 0 ? this.b.length : end).toString();
    this.i = end < 0 ? this.b.length : end + 1;
    return v;
  }

  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) {
      const v = this.b.readUIntLE(this.i, 3);
      this.i += 3;
      return v;
    }
    if (first === 0xfe) {
      const v = Number(this.b.readBigUInt64LE(this.i));
      this.i += 8;
      return v;
    }
    return -1; // 0xfb: NULL
  }

  lenencString(): string | null {
    if (this.b[this.i] === 0xfb) {
      this.i++;
      return null;
    }
    return this.bytes(this.lenenc()).toString();
  }
}

/** `` `name` `` with inner backquotes doubled: an identifier as SQL text. */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** `'text'` with quotes doubled; the presets only quote names they validated (no backslashes, whose meaning depends on the SQL mode). */
export function quoteLiteral(text: string): string {
  if (text.includes('\\')) throw new Error(`a backslash in ${JSON.stringify(text)}: not quoted here`);
  return `'${text.replace(/'/g, "''")}'`;
}
