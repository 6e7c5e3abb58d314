/**
 * Container output, kept as JSON lines (`{"t": ISO time, "s": "stdout"|"stderr", "l": line}`) like
 * Docker's json-file driver, so that logs can be read again with timestamps, filtered by stream and
 * followed while the container runs.
 */
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export type LogStream = 'stdout' | 'stderr';

export interface LogEntry {
  time: string;
  stream: LogStream;
  line: string;
}

const TAIL_KEPT = 100;

/**
 * Lines that arrive in one turn of the event loop (a chatty container's several reads, several
 * containers' output) are written together, at the end of that turn, in one write per log; `flush`
 * writes what waits at once: a container's exit is reported only after its last line is on disk,
 * so `logs()` right after `wait()` sees everything.
 */
export class LogWriter {
  private fd: number | undefined;
  private readonly partial: Record<LogStream, string> = { stdout: '', stderr: '' };
  /** the last lines, kept in memory for error messages */
  readonly tail: LogEntry[] = [];

  constructor(private readonly path: string) {}

  write(stream: LogStream, chunk: Buffer | string): void {
    const text = this.partial[stream] + chunk.toString();
    const lines = text.split('\n');
    this.partial[stream] = lines.pop()!;
    this.append(stream, lines);
  }

  /** Writes out what waits, and unterminated lines (at exit). */
  flush(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s]) this.append(s, [this.partial[s]]);
      this.partial[s] = '';
    }
    this.writePending();
  }

  close(): void {
    this.flush();
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** entries not yet written, and whether their write is scheduled */
  private pending = '';
  private scheduled = false;
  /** closed (the container is being removed): nothing more is written, its directory is going away */
  private closed = false;

  private append(stream: LogStream, lines: string[]): void {
    if (!lines.length) return;
    const time = new Date().toISOString();
    const s = stream === 'stdout' ? 'o' : 'e';
    let out = '';
    for (const line of lines) out += `${JSON.stringify({ t: time, s, l: line })}\n`;
    this.tail.push(...lines.slice(-TAIL_KEPT).map((line) => ({ time, stream, line })));
    if (this.tail.length > TAIL_KEPT) this.tail.splice(0, this.tail.length - TAIL_KEPT);
    this.pending += out;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.writePending());
    }
  }

  private writePending(): void {
    this.scheduled = false;
    if (!this.pending || this.closed) return;
    this.fd ??= openSync(this.path, 'a');
    writeSync(this.fd, this.pending);
    this.pending = '';
  }
}

function parse(line: string): LogEntry | undefined {
  try {
    const o = JSON.parse(line) as { t: string; s: string; l: string };
    return { time: o.t, stream: o.s === 'e' ? 'stderr' : 'stdout', line: o.l };
  } catch {
    return undefined;
  }
}

export interface ReadLogsOptions {
  /** only the last N entries */
  tail?: number;
  /** only entries at or after this time */
  since?: Date;
  stream?: LogStream;
}

export async function readLogs(path: string, opts: ReadLogsOptions = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  try {
    await stat(path);
  } catch {
    return out;
  }
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  const since = opts.since?.toISOString();
  for await (const raw of rl) {
    const e = parse(raw);
    if (!e || (opts.stream && e.stream !== opts.stream) || (since && e.time < since)) continue;
    out.push(e);
    if (opts.tail !== undefined && out.length > opts.tail) out.shift();
  }
  return out;
}

export function formatLogs(entries: LogEntry[], timestamps = false): string {
  return entries.map((e) => (timestamps ? `${e.time} ${e.line}` : e.line)).join('\n') + (entries.length ? '\n' : '');
}

const FOLLOW_INTERVAL_MS = 50;

export interface LogFollower {
  /**
   * Delivers what the log holds now, to its end, then stops following: for once the writer is done
   * (the container exited — its last line is on disk then), where a pause would be a guess that a
   * loaded machine loses.
   */
  drain(): Promise<void>;
}

/**
 * Calls `onEntry` for each entry of the log at `path` — those already there when `fromStart`, then
 * the new ones as they are written — until `signal` aborts or `drain()` has read to the end. Polls:
 * the writer is another process. `keepAlive: false`: the polling alone does not keep the process alive.
 */
export function followLogs(path: string, onEntry: (e: LogEntry) => void, signal: AbortSignal, fromStart = true, keepAlive = true): LogFollower {
  let offset = -1;
  let partial = '';
  let reading: Promise<void> | undefined;
  let draining = false;
  const read = async () => {
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    if (offset < 0) offset = fromStart ? 0 : size;
    if (size <= offset) return;
    const chunks: Buffer[] = [];
    for await (const c of createReadStream(path, { start: offset, end: size - 1 })) chunks.push(c as Buffer);
    offset = size;
    const lines = (partial + Buffer.concat(chunks).toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      const e = parse(l);
      if (e && (draining || !signal.aborted)) onEntry(e);
    }
  };
  const tick = () => {
    if (reading || draining || signal.aborted) return;
    reading = read()
      .catch(() => {}) // a log removed under us (rm -f) ends nothing here; the next tick looks again
      .finally(() => (reading = undefined));
  };
  // a follower keeps the process alive until it is aborted: someone is waiting for these lines
  const timer = setInterval(tick, FOLLOW_INTERVAL_MS);
  if (!keepAlive) timer.unref(); // a stream nobody closes (Testcontainers' logs()) must not hold the process
  tick();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  return {
    async drain() {
      if (draining) return;
      draining = true;
      clearInterval(timer);
      await reading;
      await read().catch(() => {});
    },
  };
}
