/**
 * A small PostgreSQL client over the frontend/backend protocol (version 3): start-up, password
 * authentication (cleartext, MD5, SCRAM-SHA-256) and the simple query protocol, rows as text. It is
 * what the preset needs to know the server is ready (a real query over TCP, in ~1 ms instead of
 * ~100 ms for a `psql` run inside the container) and to take snapshots and forks; tests use a real
 * driver.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { FramedConnection, openConnection } from './framed-connection.js';
import { scramClientFinal, scramClientFirst, scramVerifyServer, type ScramState } from './postgres-scram.js';

export interface PgConnectOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** the whole connect, authentication included; default 5000 ms */
  timeoutMs?: number;
}

/** An error the server sent (ErrorResponse): `code` is the SQLSTATE. */
export class PgServerError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export interface PgResult {
  /** the command tags, one per statement (`CREATE DATABASE`, `SELECT 1`) */
  commands: string[];
  /** the rows of the last statement that returned any, as text (null for NULL) */
  rows: (string | null)[][];
  /** their column names */
  columns: string[];
}

const PROTOCOL_3 = 196608;

type PgMessage = { type: string; body: Buffer };

export class PgConnection extends FramedConnection<PgMessage> {
  /** ParameterStatus values: server_version, … */
  readonly parameters = new Map<string, string>();

  private constructor(socket: Socket) {
    super(socket);
  }

  static connect(o: PgConnectOptions): Promise<PgConnection> {
    return openConnection(o, (socket) => new PgConnection(socket), (c) => c.startup(o));
  }

  protected cut(buffer: Buffer): { frame: PgMessage; length: number } | undefined {
    if (buffer.length < 5) return undefined;
    const len = buffer.readInt32BE(1);
    if (buffer.length < 1 + len) return undefined;
    return { frame: { type: String.fromCharCode(buffer[0]!), body: buffer.subarray(5, 1 + len) }, length: 1 + len };
  }

  get serverVersionNum(): number {
    const v = this.parameters.get('server_version') ?? '0';
    const [major = 0, minor = 0] = v.split(/[.\s]/).map((x) => Number.parseInt(x, 10) || 0);
    return major >= 10 ? major * 10000 + minor : major * 10000 + minor * 100;
  }

  private async startup(o: PgConnectOptions): Promise<void> {
    const params = Buffer.from(`user\0${o.user}\0database\0${o.database}\0client_encoding\0UTF8\0application_name\0mayfly\0\0`);
    const head = Buffer.alloc(8);
    head.writeInt32BE(8 + params.length, 0);
    head.writeInt32BE(PROTOCOL_3, 4);
    this.socket.write(Buffer.concat([head, params]));
    let scram: ScramState | undefined;
    for (;;) {
      const m = await this.next();
      if (m.type === 'E') throw serverError(m.body);
      if (m.type === 'R') {
        const kind = m.body.readInt32BE(0);
        if (kind === 0) continue; // AuthenticationOk
        if (kind === 3) this.send('p', cstring(o.password));
        else if (kind === 5) {
          const salt = m.body.subarray(4, 8);
          const inner = md5hex(Buffer.from(o.password + o.user));
          this.send('p', cstring(`md5${md5hex(Buffer.concat([Buffer.from(inner), salt]))}`));
        } else if (kind === 10) {
          const mechanisms = m.body.subarray(4).toString().split('\0');
          if (!mechanisms.includes('SCRAM-SHA-256')) throw new Error(`the server offers ${mechanisms.filter(Boolean).join(', ')}; only SCRAM-SHA-256 is spoken here`);
          const first = scramClientFirst();
          scram = first.state;
          const len = Buffer.alloc(4);
          len.writeInt32BE(first.message.length);
          this.send('p', Buffer.concat([cstring('SCRAM-SHA-256'), len, first.message]));
        } else if (kind === 11) {
          const final = scramClientFinal(scram!, o.password, m.body.subarray(4).toString());
          scram = final.state;
          this.send('p', final.message);
        } else if (kind === 12) {
          if (!scramVerifyServer(scram!, m.body.subarray(4).toString())) throw new Error('the server could not prove it knows the password (SCRAM server signature)');
        } else throw new Error(`authentication method ${kind} is not supported`);
        continue;
      }
      if (m.type === 'S') {
        const [k = '', v = ''] = m.body.toString().split('\0');
        this.parameters.set(k, v);
        continue;
      }
      if (m.type === 'Z') return;
      // BackendKeyData, notices: nothing to do
    }
  }

  /** Runs one or more statements (simple query protocol); rejects with the first server error, after the server is ready again. */
  async query(sql: string): Promise<PgResult> {
    this.send('Q', cstring(sql));
    const result: PgResult = { commands: [], rows: [], columns: [] };
    let rows: (string | null)[][] = [];
    let error: PgServerError | undefined;
    for (;;) {
      const m = await this.next();
      switch (m.type) {
        case 'T':
          rows = [];
          result.columns = rowDescription(m.body);
          break;
        case 'D':
          rows.push(dataRow(m.body));
          break;
        case 'C':
          result.commands.push(m.body.subarray(0, m.body.length - 1).toString());
          if (rows.length) result.rows = rows;
          break;
        case 'E':
          error ??= serverError(m.body);
          break;
        case 'Z':
          if (error) throw error;
          return result;
        default:
          break; // notices, parameter changes, empty queries
      }
    }
  }

  close(): Promise<void> {
    return this.end(message('X', Buffer.alloc(0)));
  }

  private send(type: string, body: Buffer): void {
    this.socket.write(message(type, body));
  }
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

function cstring(s: string): Buffer {
  return Buffer.from(`${s}\0`);
}

function md5hex(b: Buffer): string {
  return createHash('md5').update(b).digest('hex');
}

function serverError(body: Buffer): PgServerError {
  const fields = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const code = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    fields.set(code, body.subarray(i + 1, end).toString());
    i = end + 1;
  }
  return new PgServerError(fields.get('M') ?? 'server error', fields.get('C') ?? '', fields.get('D'));
}

function rowDescription(body: Buffer): string[] {
  const n = body.readInt16BE(0);
  const names: string[] = [];
  let i = 2;
  for (let k = 0; k < n; k++) {
    const end = body.indexOf(0, i);
    names.push(body.subarray(i, end).toString());
    i = end + 1 + 18; // table oid, column number, type oid, size, modifier, format
  }
  return names;
}

function dataRow(body: Buffer): (string | null)[] {
  const n = body.readInt16BE(0);
  const out: (string | null)[] = [];
  let i = 2;
  for (let k = 0; k < n; k++) {
    const len = body.readInt32BE(i);
    i += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.subarray(i, i + len).toString());
      i += len;
    }
  }
  return out;
}

/** `"name"` with inner quotes doubled: an identifier as SQL text. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `'text'` with inner quotes doubled (standard_conforming_strings is on since 9.1). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
