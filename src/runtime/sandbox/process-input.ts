/**
 * What the sandbox holds of a process started with `-i` or `-t`: the write end of its stdin pipe,
 * or the master of its pseudo-terminal (whose reads are the process's output). Input comes from the
 * owner in pieces; EOF closes the pipe (with a terminal it is the terminal's EOF character, as a
 * user's Ctrl-D); a resize sets the terminal's window size, and its foreground group gets SIGWINCH.
 */
import { closeSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ReadStream } from 'node:tty';
import { check, fcntl, libcFunction, O_CLOEXEC } from '../../sys/libc.js';
import { openPty, ptyNumber, setWindowSize } from '../../sys/terminals.js';

const pipe2 = libcFunction('int pipe2(_Out_ int *fds, int flags)');
const F_DUPFD_CLOEXEC = 1030;
const EOT = Buffer.from([4]);

export interface ProcessInput {
  write(data: Uint8Array): void;
  /** EOF */
  end(): void;
  resize(cols: number, rows: number): void;
  close(): void;
}

/** A pipe for the process's stdin: `childFd` is its read end (close it once handed over). */
export function stdinPipe(): { input: ProcessInput; childFd: number } {
  const fds = new Int32Array(2);
  check('pipe2', pipe2(fds, O_CLOEXEC), () => 'O_CLOEXEC');
  const sink = new Socket({ fd: fds[1]!, readable: false, writable: true });
  sink.on('error', () => {}); // the process closed its stdin (EPIPE): what it did not read is dropped, as in Docker
  return {
    childFd: fds[0]!,
    input: {
      write: (data) => void (sink.writable && sink.write(data)),
      end: () => void sink.end(),
      resize: () => {},
      close: () => void sink.destroy(),
    },
  };
}

/**
 * A pty of the devpts whose ptmx is at `ptmx` (the container's own): `slave` becomes the process's
 * fds 0-2 (close it once handed over), `output` is what the process writes to it, ending when
 * every holder of the slave has closed it.
 */
export function terminal(ptmx: string, size?: { cols: number; rows: number }): { input: ProcessInput; slave: number; output: Readable; path: string } {
  const { master, slave } = openPty(ptmx);
  /** its name inside the container, whose /dev/pts is this devpts */
  const path = `/dev/pts/${ptyNumber(master)}`;
  if (size) setWindowSize(master, size.cols, size.rows);
  // reads through libuv (non-blocking, polled); writes on a descriptor of their own, retried
  // while the terminal's buffer is full, so a process that reads nothing never blocks the sandbox
  const writeFd = check('fcntl', fcntl(master, F_DUPFD_CLOEXEC, 0), () => 'F_DUPFD_CLOEXEC');
  const output = new ReadStream(master);
  output.on('error', () => {}); // EIO: the last slave closed (its 'end' follows)
  const queue: Buffer[] = [];
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    while (queue.length && !closed) {
      const chunk = queue[0]!;
      let n: number;
      try {
        n = writeSync(writeFd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          timer = setTimeout(flush, 10);
          return;
        }
        queue.length = 0; // the terminal is gone (EIO)
        return;
      }
      if (n < chunk.length) queue[0] = chunk.subarray(n);
      else queue.shift();
    }
  };
  const input: ProcessInput = {
    write(data) {
      if (closed || !data.length) return;
      queue.push(Buffer.from(data));
      if (!timer) flush();
    },
    end: () => input.write(EOT),
    resize(cols, rows) {
      if (!closed) setWindowSize(writeFd, cols, rows);
    },
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      closeSync(writeFd);
      output.destroy();
    },
  };
  return { input, slave, output, path };
}
