/**
 * Real pipes for container output. Node's 'pipe' stdio is a socketpair, and a program that opens
 * /dev/stdout (nginx's access log, `echo x > /dev/stderr`) gets ENXIO when fd 1 is a socket: so
 * the shim's fd 1 and 4 are the write ends of pipe(2)s, and the sandbox reads the other ends.
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { check, libcFunction, O_CLOEXEC } from './libc.js';

const pipe2 = libcFunction('int pipe2(_Out_ int *fds, int flags)');

export interface OutputPipe {
  /** give this to the child (spawn's stdio), then call `handedOver()` */
  writeFd: number;
  /** the sandbox's end */
  readable: Socket;
  /** closes our copy of the write end: the reader sees EOF once the child's copies are gone */
  handedOver(): void;
}

export function outputPipe(): OutputPipe {
  const fds = new Int32Array(2);
  check('pipe2', pipe2(fds, O_CLOEXEC), () => 'O_CLOEXEC');
  const [readFd, writeFd] = [fds[0]!, fds[1]!];
  const readable = new Socket({ fd: readFd, readable: true, writable: false });
  return { writeFd, readable, handedOver: () => closeSync(writeFd) };
}
