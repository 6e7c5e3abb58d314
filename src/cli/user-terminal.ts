/**
 * The user's side of `-i` and `-t`: this process's stdin streamed into an attach session (EOF
 * included), and with a terminal, that terminal in raw mode while attached (so Ctrl-C, Ctrl-D and
 * every other key reach the container's terminal as bytes), its window size sent at start and on
 * every resize, and Ctrl-P Ctrl-Q to detach, as Docker's default detach keys.
 */
import { spawnSync } from 'node:child_process';
import { MayflyError } from '../core/errors.js';
import type { AttachSession } from '../keeper/attach-client.js';
import type { TerminalSize } from '../keeper/protocol.js';

const CTRL_P = 0x10;
const CTRL_Q = 0x11;

/** The size of the terminal this process writes to, if it writes to one. */
export function terminalSize(): TerminalSize | undefined {
  for (const s of [process.stdout, process.stderr]) {
    if (s.isTTY && s.columns && s.rows) return { cols: s.columns, rows: s.rows };
  }
  return undefined;
}

/** `-it` needs a terminal to read from, as Docker says. */
export function checkInputDevice(interactive: boolean, tty: boolean): void {
  if (interactive && tty && !process.stdin.isTTY) {
    throw new MayflyError('INVALID_OPTION', 'the input device is not a TTY', { hint: 'leave out -t when stdin is a pipe or a file (-i alone streams it)' });
  }
}

/**
 * Ctrl-P Ctrl-Q in what the user types: the bytes to send on, and whether the sequence was typed.
 * A Ctrl-P is held back until the next byte says whether it starts the sequence.
 */
export class DetachKeys {
  private held = false;

  scan(chunk: Buffer): { data: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.held) {
        this.held = false;
        if (b === CTRL_Q) return { data: Buffer.from(out), detach: true };
        out.push(CTRL_P);
      }
      if (b === CTRL_P) this.held = true;
      else out.push(b);
    }
    return { data: Buffer.from(out), detach: false };
  }
}

/**
 * Connects this process's stdin (`interactive`) and terminal (`tty`) to `session`. Returns the
 * function that undoes it: the terminal's mode restored, stdin let go (so this process can end).
 */
export function connectUserTerminal(session: AttachSession, opts: { interactive: boolean; tty: boolean }): () => void {
  const stdin = process.stdin;
  const raw = opts.interactive && opts.tty && stdin.isTTY;
  const undo: (() => void)[] = [];
  if (raw) {
    stdin.setRawMode(true);
    // Node's raw mode keeps output processing (a \n becomes \r\n): the container's own terminal
    // already did that, and full-screen programs move the cursor with a bare \n. Switched off as
    // Docker's raw mode does; setRawMode(false) puts back the settings it saved before.
    spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
    // restored on every way out, an uncaught error or process.exit included
    const restore = () => stdin.isTTY && stdin.setRawMode(false);
    process.once('exit', restore);
    undo.push(() => {
      restore();
      process.off('exit', restore);
    });
  }
  if (opts.tty) {
    const onResize = () => {
      const size = terminalSize();
      if (size) session.resize(size);
    };
    process.on('SIGWINCH', onResize);
    undo.push(() => process.off('SIGWINCH', onResize));
  }
  if (opts.interactive) {
    const keys = opts.tty ? new DetachKeys() : undefined;
    const onData = (chunk: Buffer) => {
      if (!keys) return session.write(chunk);
      const { data, detach } = keys.scan(chunk);
      if (data.length) session.write(data);
      if (detach) session.detach();
    };
    const onEnd = () => session.closeStdin();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    undo.push(() => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
      stdin.destroy();
    });
  }
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    for (const u of undo.reverse()) u();
  };
}
