/**
 * The keeper's side of an attach stream (frames.ts): `run` makes, attaches and starts a container
 * (a foreground `mayfly run`), `attach` follows a running one (`start -a` starts it first), `exec`
 * runs a command in one with its output streamed. Signals come back as control frames and are
 * forwarded as `docker run` forwards them; stdin frames and window sizes go to the process's stdin
 * or terminal (`-i`, `-t`); a `run` whose client goes away first takes its container with it,
 * unless the client detached (Ctrl-P Ctrl-Q).
 */
import type { Socket } from 'node:net';
import { isMayflyError, MayflyError } from '../core/errors.js';
import type { Container, ExecSession } from '../runtime/container.js';
import { controlFrame, encodeFrame, STREAM, type FrameReader } from './frames.js';
import { isLive, type Holdings } from './holdings.js';
import type { AttachControl, AttachEvent, AttachRequest, TerminalSize } from './protocol.js';

export function toError(e: unknown): MayflyError {
  return isMayflyError(e) ? e : new MayflyError('SANDBOX_FAILED', (e as Error)?.message ?? String(e));
}

/** Where a stream's input goes: a container's PID 1 or an exec session. */
interface InputTarget {
  write(data: Uint8Array): Promise<void>;
  closeStdin(): Promise<void>;
  resize(size: TerminalSize): Promise<void>;
}

/**
 * Input in the order it came: held until its process runs (a client writes as soon as it
 * connects), then written one piece after the other; a process that has ended takes no more.
 */
class InputRelay {
  private target: InputTarget | undefined;
  private held: ((t: InputTarget) => Promise<void>)[] = [];
  private chain: Promise<void> = Promise.resolve();
  private ended = false;

  send(op: (t: InputTarget) => Promise<void>): void {
    if (this.ended) return;
    if (!this.target) return void this.held.push(op);
    const t = this.target;
    this.chain = this.chain.then(() => op(t)).catch(() => {});
  }

  ready(target: InputTarget): void {
    this.target = target;
    for (const op of this.held.splice(0)) this.send(op);
  }

  /** no process takes input on this stream (none was asked for, or it ended) */
  close(): void {
    this.ended = true;
    this.held = [];
  }
}

const containerInput = (c: Container): InputTarget => ({ write: (d) => c.write(d), closeStdin: () => c.closeStdin(), resize: (s) => c.resize(s) });

export async function serveAttach(socket: Socket, req: AttachRequest, reader: FrameReader, holdings: Holdings, already: Buffer = Buffer.alloc(0)): Promise<void> {
  const control = (m: AttachEvent) => socket.writable && socket.write(controlFrame(m));
  let c: Container | undefined;
  let stopping = false;
  let detached = false;
  const input = new InputRelay();
  const early: NodeJS.Signals[] = [];
  const forward = (signal: NodeJS.Signals) => {
    if (req.op === 'exec-attach') return; // as `docker exec`: a signal ends the client, not the command
    if (!c || c.status === 'created') return void early.push(signal);
    // INT and TERM also start a stop, so that a PID 1 without a handler still ends (SIGKILL after
    // its stop timeout, or at a second one)
    if (signal !== 'SIGINT' && signal !== 'SIGTERM') void c.kill(signal).catch(() => {});
    else if (stopping) void c.kill('SIGKILL').catch(() => {});
    else {
      stopping = true;
      void c.stop({ signal }).catch(() => {});
    }
  };
  // listened to at once: a signal or input may come while the container is being made
  const onFrames = (chunk: Buffer) => {
    for (const f of reader.push(chunk)) {
      if (f.stream === STREAM.stdin) {
        const data = Buffer.from(f.payload); // the reader's buffer is reused
        input.send((t) => (data.length ? t.write(data) : t.closeStdin()));
        continue;
      }
      if (f.stream !== STREAM.control) continue;
      const m = JSON.parse(f.payload.toString()) as AttachControl;
      if ('signal' in m) forward(m.signal);
      else if ('resize' in m) input.send((t) => t.resize(m.resize));
      else if ('detach' in m) {
        detached = true;
        socket.end();
      }
    }
  };
  socket.on('data', onFrames);
  onFrames(already);
  let gone = false;
  let exec: ExecSession | undefined;
  socket.once('close', () => {
    gone = true;
    holdings.attached.get(c?.id ?? '')?.delete(socket);
    // a foreground run's client went away (not detached) before its container ended: nothing stays behind
    if (req.op === 'run' && !detached && c && holdings.has(c.id) && c.status !== 'exited') void holdings.remove(c).catch(() => {});
    // an exec's input ends with its client
    if (exec && (req.op === 'exec-attach' && (req.stdin || req.tty))) void exec.closeStdin().catch(() => {});
  });
  const fail = (e: unknown) => socket.end(controlFrame({ event: 'error', error: toError(e).toJSON() } satisfies AttachEvent));

  if (req.op === 'exec-attach') {
    try {
      c = holdings.get(req.container);
      const { argv, env, user, workingDir, stdin, tty, size } = req;
      exec = await c.execAttached(
        argv,
        { ...(env ? { env } : {}), ...(user ? { user } : {}), ...(workingDir ? { workingDir } : {}), stdin: Boolean(stdin), tty: Boolean(tty), ...(size ? { size } : {}) },
        (stream, data) => socket.writable && socket.write(encodeFrame(stream === 'stdout' ? STREAM.stdout : STREAM.stderr, data)),
      );
    } catch (e) {
      return void fail(e);
    }
    const session = exec;
    if (req.stdin || req.tty) input.ready({ write: (d) => session.write(d), closeStdin: () => session.closeStdin(), resize: (s) => session.resize(s) });
    else input.close();
    session.exited.then(
      (exitCode) => {
        input.close();
        socket.end(controlFrame({ event: 'exit', exitCode, oomKilled: false } satisfies AttachEvent));
      },
      fail,
    );
    return;
  }

  try {
    c = req.op === 'run' ? await holdings.create(req.options, { persistent: true, ...(req.autoRemove ? { autoRemove: true } : {}) }) : holdings.get(req.container);
  } catch (e) {
    return void fail(e);
  }
  if (gone && req.op === 'run') return void holdings.remove(c).catch(() => {});
  const socks = holdings.attached.get(c.id) ?? new Set<Socket>();
  holdings.attached.set(c.id, socks);
  socks.add(socket);
  const takesInput = c.spec.openStdin || c.spec.tty;
  if (req.op === 'attach' && (isLive(c) || !req.start)) {
    if (!isLive(c)) return void socket.end(controlFrame({ event: 'exit', exitCode: c.exitStatus?.exitCode ?? 0, oomKilled: false } satisfies AttachEvent));
    control({ event: 'started', container: holdings.describe(c, false) });
    if (takesInput) {
      input.ready(containerInput(c));
      if (req.size && c.spec.tty) input.send((t) => t.resize(req.size!));
    } else input.close();
    return;
  }
  const started = c;
  try {
    await holdings.start(c, (reached) => control({ event: 'started', container: { ...holdings.describe(started, true), ...reached } }), req.size);
  } catch (e) {
    socks.delete(socket);
    if (req.op === 'run') await holdings.remove(c).catch(() => {});
    return void fail(e);
  }
  if (takesInput) input.ready(containerInput(c));
  else input.close();
  for (const s of early.splice(0)) forward(s);
}
