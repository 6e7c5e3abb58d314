/**
 * Ready when the server answers a query over TCP as the configured user with the password, asked
 * from the host through the published port. Only the final server listens on TCP (the official
 * images initialise with a temporary server on the Unix socket alone, whose "ready" line or ping
 * would mislead), and an attempt costs ~1 ms, not the ~100 ms of a client run inside the
 * container — so attempts can come every few milliseconds, and stay that close: a pause that grew
 * to 100 ms is, on average, 50 ms of a ready server nobody asked (a warm database start is ~150 ms).
 */
import { firstLine, notYet, pollUntilReady, READY, type WaitContext, type WaitStrategy, type WaitSubject } from '../harness/wait/index.js';

export interface QueryLogin {
  user: string;
  password: string;
  database: string;
}

/** What the wait needs of a database's wire client. */
export interface QueryDialect {
  /** a connection through its handshake (logged in), or a rejection */
  connect(o: QueryLogin & { host: string; port: number; timeoutMs: number }): Promise<{ query(sql: string): Promise<unknown>; close(): Promise<void> }>;
  /** the cheapest query the server must answer */
  probe: string;
  /** the server is up but refuses this login: waiting will not mend it */
  refusesLogin(e: unknown): boolean;
}

export class QueryWait implements WaitStrategy {
  constructor(
    private readonly port: number,
    private readonly login: QueryLogin,
    private readonly dialect: QueryDialect,
  ) {}

  describe(subject?: WaitSubject): string {
    const where = subject ? `${subject.target.host}:${subject.target.port(this.port)}` : `port ${this.port}`;
    return `a query (${this.dialect.probe}) answered over TCP at ${where} as ${this.login.user} on database ${this.login.database}`;
  }

  async wait(ctx: WaitContext): Promise<void> {
    await pollUntilReady(
      ctx,
      async () => {
        let conn: Awaited<ReturnType<QueryDialect['connect']>> | undefined;
        try {
          conn = await this.dialect.connect({ host: ctx.target.host, port: ctx.target.port(this.port), ...this.login, timeoutMs: 2000 });
          await conn.query(this.dialect.probe);
          return READY;
        } catch (e) {
          const hint = this.dialect.refusesLogin(e) ? 'the server is up but refuses the login: do the user and password match what initialised the data?' : undefined;
          return notYet(firstLine((e as Error).message), hint);
        } finally {
          void conn?.close().catch(() => {});
        }
      },
      // and at once when the server writes a line: its "ready" line is followed by the query that proves it
      { firstMs: 5, growth: 1.1, maxMs: 20, onOutput: true },
    );
  }
}
