/**
 * A container's output over the API: `logs` (from its JSON-lines log; followed until it exits) and
 * `attach` (a hijacked connection: its output as it comes, its stdin if it keeps one open). Both in
 * Docker's multiplexed frames (stdout 1, stderr 2, 8-byte header) unless the container has a
 * terminal, when the bytes go raw.
 */
import { join } from 'node:path';
import type { Container } from '../../engine/runtime.js';
import { encodeFrame, STREAM } from '../../keeper/frames.js';
import { followLogs, readLogs, type LogEntry } from '../../model/container-logs.js';
import { findContainer, isLive } from '../container-documents.js';
import { apiError, type ApiCall, type Route } from '../route.js';

const RAW_STREAM = 'application/vnd.docker.raw-stream';
const MULTIPLEXED = 'application/vnd.docker.multiplexed-stream';

export function outputChunk(tty: boolean, stream: 'stdout' | 'stderr', data: Uint8Array | string): Buffer | Uint8Array | string {
  return tty ? data : encodeFrame(stream === 'stdout' ? STREAM.stdout : STREAM.stderr, data);
}

/** Docker's `since`/`until`: Unix seconds (fractions allowed) or an RFC 3339 time; 0 is none. */
function timeParam(call: ApiCall, name: string): number | undefined {
  const raw = call.query.get(name);
  if (!raw || raw === '0') return undefined;
  const n = Number(raw);
  const ms = Number.isFinite(n) ? n * 1000 : Date.parse(raw);
  if (!Number.isFinite(ms)) throw apiError(400, `invalid ${name}: ${raw}`);
  return ms;
}

/** Resolves once the container runs (never, if it goes first). */
function started(call: ApiCall, c: Container): Promise<void> {
  return new Promise((resolve) => {
    const off = call.ctx.holdings.observe((e) => {
      if (e.container.id !== c.id) return;
      if (e.action === 'start') resolve();
      if (e.action === 'start' || e.action === 'destroy') off();
    });
  });
}

/** Resolves on the container's exit (or at once when it is not running). */
function exited(call: ApiCall, c: Container): Promise<void> {
  if (!isLive(c) && c.status !== 'created') return Promise.resolve();
  return new Promise((resolve) => {
    const off = call.ctx.holdings.observe((e) => {
      if (e.container.id === c.id && (e.action === 'die' || e.action === 'destroy')) {
        off();
        resolve();
      }
    });
  });
}

async function logs(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  const wantOut = call.flag('stdout');
  const wantErr = call.flag('stderr');
  if (!wantOut && !wantErr) throw apiError(400, 'Bad parameters: you must choose at least one stream');
  const since = timeParam(call, 'since');
  const until = timeParam(call, 'until');
  const rawTail = call.query.get('tail');
  const tail = rawTail && rawTail !== 'all' && Number(rawTail) >= 0 ? Number(rawTail) : undefined;
  const timestamps = call.flag('timestamps');
  const tty = c.spec.tty;
  const keep = (e: LogEntry) => (e.stream === 'stdout' ? wantOut : wantErr) && (since === undefined || Date.parse(e.time) >= since) && (until === undefined || Date.parse(e.time) <= until);
  const line = (e: LogEntry) => outputChunk(tty, e.stream, `${timestamps ? `${e.time.replace(/(\.\d+)?Z$/, (m) => `${(m.length > 1 ? m.slice(0, -1) : '.000').padEnd(10, '0')}Z`)} ` : ''}${e.line}\n`);
  const path = join(c.dir, 'log.jsonl');
  const all = await readLogs(path);
  let first = all.filter(keep);
  if (tail !== undefined) first = tail === 0 ? [] : first.slice(-tail);
  call.res.writeHead(200, { 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED });
  for (const e of first) call.res.write(line(e));
  if (!call.flag('follow') || (!isLive(c) && c.status !== 'created')) {
    call.res.end();
    return undefined;
  }
  call.res.flushHeaders();
  const abort = new AbortController();
  let skip = all.length;
  const follower = followLogs(
    path,
    (e) => {
      if (skip > 0) return void skip--;
      if (keep(e) && !call.res.writableEnded) call.res.write(line(e));
    },
    abort.signal,
    true,
    false,
  );
  const end = () => {
    abort.abort();
    if (!call.res.writableEnded) call.res.end();
  };
  call.res.once('close', end);
  // its last lines are on disk before its exit is told: read to the end, then close
  void exited(call, c)
    .then(() => follower.drain())
    .then(end);
  return undefined;
}

async function attach(call: ApiCall) {
  const { ctx } = call;
  const c = findContainer(ctx, call.params.id!);
  const tty = c.spec.tty;
  const wantOut = call.flag('stdout');
  const wantErr = call.flag('stderr');
  const stream = call.flag('stream');
  const conn = call.hijack(tty ? RAW_STREAM : MULTIPLEXED);
  if (call.flag('logs')) {
    for (const e of await readLogs(join(c.dir, 'log.jsonl'))) if (e.stream === 'stdout' ? wantOut : wantErr) conn.write(outputChunk(tty, e.stream, `${e.line}\n`));
  }
  if (!stream || (!isLive(c) && c.status !== 'created')) return void conn.end();
  const off = ctx.holdings.observeOutput(c.id, (s, data) => {
    if (s === 'stdout' ? wantOut : wantErr) conn.write(outputChunk(tty, s, data));
  });
  if (call.flag('stdin') && conn.input && (c.spec.openStdin || tty)) {
    // `docker run -i` attaches, writes and may close its input before the start: held until it runs, in order
    let chain = isLive(c) ? Promise.resolve() : started(call, c);
    const send = (op: () => Promise<void>) => (chain = chain.then(op).catch(() => {}));
    conn.input.on('data', (d: Buffer) => void send(() => c.write(d)));
    conn.input.once('end', () => void send(() => c.closeStdin()));
  }
  void conn.closed.then(off);
  void exited(call, c).then(() => {
    off();
    // output still on its way from the sandbox comes before the exit event: nothing is lost by ending now
    conn.end();
  });
  return undefined;
}

export const containerStreamRoutes: Route[] = [
  { method: 'GET', path: '/containers/:id/logs', handle: logs },
  { method: 'POST', path: '/containers/:id/attach', handle: attach },
];
