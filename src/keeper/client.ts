/**
 * Talking to the keeper (see main.ts): one connection per process, the keeper started (detached)
 * when absent, and its containers offered through the same handle shape as local ones.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MayflyError, type SerializedMayflyError } from '../core/errors.js';
import type { PublishedPort } from '../model/container-types.js';
import type { Attachment } from '../model/container-types.js';
import { distFile, mayflyHome } from '../core/paths.js';
import type { ExitStatus } from '../model/container-types.js';
import { readLogs, type LogEntry, type ReadLogsOptions } from '../model/container-logs.js';
import { hostOf, hostPortOf, ipOf, urlOf } from '../model/addresses.js';
import type { ContainerStats, ExecResult } from '../model/container-types.js';
import { KEEPER_SOCKET, type KeeperMessage, type KeeperRequest, type KeptContainer } from './protocol.js';

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

const CONNECT_TIMEOUT_MS = 15_000;

export class KeeperConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exits = new Map<string, (code: number) => void>();
  /** exits reported before anyone listened (a one-shot container can exit before its ensure is answered) */
  readonly exitedEarly = new Map<string, number>();
  private holds = 0;

  constructor(private readonly socket: Socket) {
    socket.unref(); // a kept container never holds a test process open
    const lines = createInterface({ input: socket });
    lines.on('error', () => {}); // readline re-emits the socket's errors; its 'close' settles what is pending
    lines.on('line', (line) => {
      const m = JSON.parse(line) as KeeperMessage;
      if ('event' in m) {
        const listener = this.exits.get(m.container);
        if (listener) listener(m.exitCode);
        else this.exitedEarly.set(m.container, m.exitCode);
        return;
      }
      const p = this.pending.get(m.re);
      this.pending.delete(m.re);
      this.updateRef();
      if (m.ok) p?.resolve(m.value);
      else p?.reject(MayflyError.fromJSON(m.error));
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        for (const p of this.pending.values()) p.reject(new MayflyError('SANDBOX_GONE', 'the mayfly keeper went away'));
        this.pending.clear();
        if (connection === this) connection = undefined;
        resolve();
      }),
    );
  }

  /** settles when the keeper closes the connection (it shuts down, or dies) */
  readonly closed: Promise<void>;

  request<T>(req: Distribute<KeeperRequest>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.updateRef();
      this.socket.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** Keeps the process alive until `done` settles (someone awaits an answer or an event). */
  async hold<T>(done: Promise<T>): Promise<T> {
    this.holds++;
    this.updateRef();
    try {
      return await done;
    } finally {
      this.holds--;
      this.updateRef();
    }
  }

  private updateRef(): void {
    if (this.pending.size || this.holds) this.socket.ref();
    else this.socket.unref();
  }
}

let connection: KeeperConnection | undefined;

/** The keeper's own account of why it could not start (a MayflyError's JSON, from its report pipe). */
function keeperFailure(told: string): MayflyError {
  try {
    return MayflyError.fromJSON(JSON.parse(told) as SerializedMayflyError);
  } catch {
    return new MayflyError('SANDBOX_FAILED', `the mayfly keeper could not start: ${told.trim()}`, { hint: 'run `mayfly doctor`; set MAYFLY_DEBUG=1 for details' });
  }
}

function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
}

/** A new socket to this home's keeper, starting one (detached: it outlives us) when there is none. */
export async function keeperSocket(): Promise<Socket> {
  const path = join(mayflyHome(), KEEPER_SOCKET);
  let socket = await tryConnect(path);
  if (!socket) {
    // fd 3: the keeper's report of a failure to start (its sandbox refused, say), closed once it serves
    const child = spawn(process.execPath, [distFile('processes/keeper/main.js')], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      env: { ...process.env, MAYFLY_HOME: mayflyHome(), MAYFLY_KEEPER_REPORT_FD: '3' },
    });
    child.unref();
    const report = child.stdio[3] as Readable;
    let told = '';
    let exited = false;
    report.setEncoding('utf8').on('data', (d: string) => (told += d)).on('error', () => {});
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    try {
      while (!socket && Date.now() < deadline) {
        if (exited) {
          // all it told is in once the pipe is closed; nothing told: it left for another keeper
          await new Promise((r) => (report.closed || report.readableEnded ? r(undefined) : report.once('close', r)));
          if (told) throw keeperFailure(told);
        }
        await new Promise((r) => setTimeout(r, 25));
        socket = await tryConnect(path);
      }
    } finally {
      report.destroy();
    }
    if (!socket) throw new MayflyError('SANDBOX_FAILED', `the mayfly keeper (for reused containers) did not start within ${CONNECT_TIMEOUT_MS / 1000} s`, { hint: 'run `mayfly doctor`; set MAYFLY_DEBUG=1 for details' });
  }
  return socket;
}

/** Connects to this home's keeper, starting one when there is none. */
export async function keeper(): Promise<KeeperConnection> {
  if (connection) return connection;
  const socket = await keeperSocket();
  connection ??= new KeeperConnection(socket);
  return connection;
}

/** A container the keeper holds, driven over the socket; logs are read from its file directly. */
export class KeptHandle {
  status: KeptContainer['status'];
  private exit: ExitStatus | undefined;
  private exitWaiters: ((s: ExitStatus) => void)[] = [];

  constructor(
    private readonly k: KeeperConnection,
    private info: KeptContainer,
  ) {
    this.status = info.status;
    const early = k.exitedEarly.get(info.id) ?? (info.status === 'exited' ? info.exitCode : undefined);
    k.exitedEarly.delete(info.id);
    if (early !== undefined) {
      this.status = 'exited';
      this.exit = { exitCode: early, oomKilled: false };
    }
    k.exits.set(info.id, (exitCode) => {
      this.status = 'exited';
      this.exit = { exitCode, oomKilled: false };
      for (const w of this.exitWaiters.splice(0)) w(this.exit);
    });
  }

  get id(): string {
    return this.info.id;
  }
  get name(): string {
    return this.info.name;
  }
  get dir(): string {
    return this.info.dir;
  }
  get stagingDir(): string {
    return this.info.stagingDir;
  }
  /** the labels it was made with (the image's, the caller's, mayfly's) */
  get labels(): Record<string, string> {
    return { ...this.info.labels };
  }
  get imageId(): string | undefined {
    return this.info.imageId;
  }
  async copyArchiveIn(archive: string, targetDir: string): Promise<void> {
    await this.k.request({ op: 'copy-in', container: this.id, archive, targetDir });
  }
  async copyArchiveOut(path: string, archive: string): Promise<void> {
    await this.k.request({ op: 'copy-out', container: this.id, path, archive });
  }
  get host(): string {
    return hostOf(this.info.ports);
  }
  ports(): PublishedPort[] {
    return [...this.info.ports];
  }
  port(containerPort: number, protocol: 'tcp' | 'udp' = 'tcp'): number {
    return hostPortOf(this.name, this.info.ports, containerPort, protocol);
  }
  url(containerPort: number, path = '/'): string {
    return urlOf(this.name, this.info.ports, containerPort, path);
  }
  networks(): Attachment[] {
    return [...this.info.networks];
  }
  ip(network?: string): string {
    return ipOf(this.name, this.info.networks, network);
  }
  exec(argv: string[], opts: { env?: Record<string, string>; user?: string; workingDir?: string } = {}): Promise<ExecResult> {
    return this.k.request({ op: 'exec', container: this.id, argv, ...opts });
  }
  logs(opts: ReadLogsOptions = {}): Promise<LogEntry[]> {
    return readLogs(join(this.dir, 'log.jsonl'), opts);
  }
  listening(): Promise<number[]> {
    return this.k.request({ op: 'listening', container: this.id });
  }
  stats(): Promise<ContainerStats> {
    return this.k.request({ op: 'stats', container: this.id });
  }
  async stop(opts: { timeout?: number } = {}): Promise<ExitStatus> {
    const s = await this.k.request<ExitStatus>({ op: 'stop', container: this.id, ...opts });
    this.status = 'exited';
    return s;
  }
  async restart(opts: { timeout?: number } = {}): Promise<void> {
    this.info = await this.k.request<KeptContainer>({ op: 'restart', container: this.id, ...opts });
    this.status = this.info.status;
  }
  pause(): Promise<'freezer' | 'sigstop'> {
    return this.k.request({ op: 'pause', container: this.id });
  }
  unpause(): Promise<void> {
    return this.k.request({ op: 'unpause', container: this.id });
  }
  wait(): Promise<ExitStatus> {
    if (this.exit) return Promise.resolve(this.exit);
    return this.k.hold(new Promise((r) => this.exitWaiters.push(r)));
  }
  async remove(): Promise<void> {
    await this.k.request({ op: 'remove', container: this.id });
    this.status = 'removed';
    this.k.exits.delete(this.id);
  }
}

/** Connects only if a keeper runs: listing and stopping must not start one. */
export async function existingKeeper(): Promise<KeeperConnection | undefined> {
  if (connection) return connection;
  const socket = await tryConnect(join(mayflyHome(), KEEPER_SOCKET));
  if (!socket) return undefined;
  connection = new KeeperConnection(socket);
  return connection;
}

/** Ends the keeper of this MAYFLY_HOME, and with it every container it holds (e.g. at the end of a CI run). */
export async function stopKeeper(): Promise<void> {
  const k = await existingKeeper();
  if (!k) return;
  await k.request({ op: 'shutdown' }).catch(() => {});
  // it closes every connection once its containers are gone. Held: with the idle connection and an
  // unref'd timer, nothing kept the process alive, and a caller's code after this await never ran
  // (the test run's global teardown left its whole directory behind after big runs)
  let timer: NodeJS.Timeout | undefined;
  await k.hold(Promise.race([k.closed, new Promise((r) => (timer = setTimeout(r, 5000)))]));
  clearTimeout(timer);
}
