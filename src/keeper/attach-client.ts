/**
 * The client's side of an attach stream (frames.ts): `run` in the foreground, `attach`, `start -a`,
 * `exec`. Output is handed over as it comes; signals, window sizes and a detach go back as control
 * frames, stdin (`-i`) as stdin frames (an empty one for EOF); the process's exit ends it.
 */
import type { Socket } from 'node:net';
import { MayflyError } from '../core/errors.js';
import { keeperSocket } from './client.js';
import { controlFrame, encodeFrame, FrameReader, STREAM } from './frames.js';
import type { AttachControl, AttachEvent, AttachRequest, KeptContainer, TerminalSize } from './protocol.js';

export interface AttachHandlers {
  onOutput(stream: 'stdout' | 'stderr', data: Buffer): void;
  onStarted?(container: KeptContainer): void;
}

/** An attach stream (frames.ts) to the keeper: output as it comes, signals forwarded, the exit at the end. */
export class AttachSession {
  /** resolves with the container's exit; rejects with the keeper's error (nothing was left behind) */
  readonly done: Promise<{ exitCode: number; oomKilled: boolean; detached?: boolean }>;
  private detaching = false;

  constructor(
    private readonly socket: Socket,
    handlers: AttachHandlers,
  ) {
    const reader = new FrameReader();
    this.done = new Promise((resolve, reject) => {
      let settled = false;
      socket.on('data', (chunk: Buffer) => {
        for (const f of reader.push(chunk)) {
          if (f.stream === STREAM.stdout) handlers.onOutput('stdout', f.payload);
          else if (f.stream === STREAM.stderr) handlers.onOutput('stderr', f.payload);
          else if (f.stream === STREAM.control) {
            const m = JSON.parse(f.payload.toString()) as AttachEvent;
            if (m.event === 'started') handlers.onStarted?.(m.container);
            else if (m.event === 'exit') {
              settled = true;
              resolve({ exitCode: m.exitCode, oomKilled: m.oomKilled });
            } else {
              settled = true;
              reject(MayflyError.fromJSON(m.error));
            }
          }
        }
      });
      socket.once('close', () => {
        if (settled) return;
        if (this.detaching) resolve({ exitCode: 0, oomKilled: false, detached: true });
        else reject(new MayflyError('SANDBOX_GONE', 'the mayfly keeper went away'));
      });
      socket.on('error', () => {});
    });
  }

  /** Forwards a signal to the container (INT and TERM start a stop; a second one kills). */
  signal(signal: NodeJS.Signals): void {
    this.control({ signal });
  }

  /** Input for the process's stdin or terminal; `write(empty)` is EOF. */
  write(data: Uint8Array): void {
    if (this.socket.writable) this.socket.write(encodeFrame(STREAM.stdin, data));
  }

  /** EOF on the process's stdin. */
  closeStdin(): void {
    this.write(Buffer.alloc(0));
  }

  resize(size: TerminalSize): void {
    this.control({ resize: size });
  }

  /** Leaves the container running (Ctrl-P Ctrl-Q); `done` resolves with `detached`. */
  detach(): void {
    this.detaching = true;
    this.control({ detach: true });
  }

  private control(m: AttachControl): void {
    if (this.socket.writable) this.socket.write(controlFrame(m));
  }
}

/** Opens an attach stream: `run` (create, attach, start) or `attach` (follow a running container). */
export async function attach(req: AttachRequest, handlers: AttachHandlers): Promise<AttachSession> {
  const socket = await keeperSocket();
  socket.write(`${JSON.stringify(req)}\n`);
  return new AttachSession(socket, handlers);
}
