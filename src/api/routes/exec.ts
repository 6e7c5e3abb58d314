/**
 * `docker exec` over the API: an exec is made (`POST /containers/{id}/exec`), started on a
 * hijacked connection (`POST /exec/{id}/start`: its output in multiplexed frames, or raw with a
 * terminal; the client's bytes to its stdin when it asked for one), resized, and inspected for its
 * exit code once it has ended.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ExecSession } from '../../runtime/container.js';
import { envRecord } from '../container-create.js';
import { findContainer } from '../container-documents.js';
import { containerAttributes } from '../container-events.js';
import { apiError, shared, type ApiCall, type ApiContext, type Route } from '../route.js';
import { outputChunk } from './container-streams.js';

const execBody = z.object({
  Cmd: z.union([z.array(z.string()), z.string()]),
  Env: z.array(z.string()).nullish(),
  User: z.string().nullish(),
  WorkingDir: z.string().nullish(),
  Tty: z.boolean().nullish(),
  AttachStdin: z.boolean().nullish(),
  AttachStdout: z.boolean().nullish(),
  AttachStderr: z.boolean().nullish(),
  Privileged: z.boolean().nullish(),
  DetachKeys: z.string().nullish(),
});

const startBody = z.object({ Detach: z.boolean().nullish(), Tty: z.boolean().nullish() });

interface ExecRecord {
  id: string;
  containerId: string;
  argv: string[];
  env: Record<string, string>;
  user: string | undefined;
  workingDir: string | undefined;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  running: boolean;
  exitCode: number | null;
  session?: ExecSession;
  /** when it was made: finished ones are forgotten after a while */
  createdAt: number;
}

/** finished execs are kept this long for inspect (Docker keeps them until the container goes) */
const KEPT_MS = 10 * 60_000;

const execs = (ctx: ApiContext) => shared(ctx, 'execs', () => new Map<string, ExecRecord>());

function findExec(ctx: ApiContext, id: string): ExecRecord {
  const e = execs(ctx).get(id);
  if (!e) throw apiError(404, `No such exec instance: ${id}`);
  return e;
}

async function create(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  if (c.status !== 'running') throw apiError(409, `Container ${c.id} is ${c.status === 'paused' ? 'paused, unpause the container before exec' : 'not running'}`);
  const body = await call.json(execBody);
  const argv = typeof body.Cmd === 'string' ? [body.Cmd] : body.Cmd;
  if (!argv.length) throw apiError(400, 'No exec command specified');
  const env = envRecord(body.Env);
  const now = Date.now();
  for (const [id, e] of execs(call.ctx)) if (!e.running && now - e.createdAt > KEPT_MS) execs(call.ctx).delete(id);
  const record: ExecRecord = {
    id: randomBytes(32).toString('hex'),
    containerId: c.id,
    argv,
    env,
    user: body.User || undefined,
    workingDir: body.WorkingDir || undefined,
    tty: body.Tty === true,
    stdin: body.AttachStdin === true,
    stdout: body.AttachStdout !== false,
    stderr: body.AttachStderr !== false,
    running: false,
    exitCode: null,
    createdAt: now,
  };
  execs(call.ctx).set(record.id, record);
  call.ctx.events.emit('container', `exec_create: ${argv.join(' ')}`, c.id, { ...containerAttributes(c), execID: record.id });
  return call.reply(201, { Id: record.id });
}

async function start(call: ApiCall) {
  const { ctx } = call;
  const e = findExec(ctx, call.params.id!);
  if (e.running || e.exitCode !== null) throw apiError(409, `exec ${e.id} has already been started`);
  const body = await call.json(startBody);
  const c = findContainer(ctx, e.containerId);
  if (c.status !== 'running') throw apiError(409, `Container ${c.id} is not running`);
  const tty = body.Tty ?? e.tty;
  const opts = { env: e.env, ...(e.user ? { user: e.user } : {}), ...(e.workingDir ? { workingDir: e.workingDir } : {}) };
  e.running = true;
  ctx.events.emit('container', `exec_start: ${e.argv.join(' ')}`, c.id, { ...containerAttributes(c), execID: e.id });
  const finished = (code: number) => {
    e.running = false;
    e.exitCode = code;
    ctx.events.emit('container', 'exec_die', c.id, { ...containerAttributes(c), execID: e.id, exitCode: String(code) });
  };
  if (body.Detach) {
    const session = await c.execAttached(e.argv, { ...opts, tty, stdin: false }, () => {});
    session.exited.then(finished, () => finished(-1));
    return call.reply(200);
  }
  let session: ExecSession;
  const pending: (Uint8Array | string)[] = [];
  let conn: ReturnType<ApiCall['hijack']> | undefined;
  const write = (chunk: Uint8Array | string) => (conn ? conn.write(chunk) : pending.push(chunk));
  try {
    session = await c.execAttached(e.argv, { ...opts, tty, stdin: e.stdin }, (s, data) => {
      if (s === 'stdout' ? e.stdout : e.stderr) write(outputChunk(tty, s, data));
    });
  } catch (err) {
    e.running = false;
    e.exitCode = 126;
    throw err;
  }
  e.session = session;
  conn = call.hijack(tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
  for (const p of pending.splice(0)) conn.write(p);
  if (e.stdin && conn.input) {
    conn.input.on('data', (d: Buffer) => void session.write(d).catch(() => {}));
    conn.input.once('end', () => void session.closeStdin().catch(() => {}));
  }
  // a client that goes away takes the exec's stdin with it (its command then sees EOF)
  void conn.closed.then(() => {
    if (e.stdin) void session.closeStdin().catch(() => {});
  });
  const open = conn;
  session.exited.then(
    (code) => {
      // the exit code is readable before the stream ends: clients inspect the exec on 'end'
      finished(code);
      open.end();
    },
    () => {
      finished(-1);
      open.end();
    },
  );
  return undefined;
}

async function resize(call: ApiCall) {
  const e = findExec(call.ctx, call.params.id!);
  const rows = call.int('h');
  const cols = call.int('w');
  if (!rows || !cols) throw apiError(400, 'resize needs h and w');
  if (e.session && e.tty) await e.session.resize({ cols, rows });
  return call.reply(201);
}

function inspect(call: ApiCall) {
  const e = findExec(call.ctx, call.params.id!);
  return {
    ID: e.id,
    Running: e.running,
    ExitCode: e.exitCode,
    ProcessConfig: { tty: e.tty, entrypoint: e.argv[0], arguments: e.argv.slice(1), privileged: false, ...(e.user ? { user: e.user } : {}) },
    OpenStdin: e.stdin,
    OpenStderr: e.stderr,
    OpenStdout: e.stdout,
    CanRemove: false,
    ContainerID: e.containerId,
    DetachKeys: '',
    Pid: 0,
  };
}

export const execRoutes: Route[] = [
  { method: 'POST', path: '/containers/:id/exec', handle: create },
  { method: 'POST', path: '/exec/:id/start', handle: start },
  { method: 'POST', path: '/exec/:id/resize', handle: resize },
  { method: 'GET', path: '/exec/:id/json', handle: inspect },
];
