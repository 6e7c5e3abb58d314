/**
 * A shared sandbox's socket: each message is V8-serialized (as the IPC channel's 'advanced'
 * serialization: Uint8Array output stays binary) behind a 4-byte big-endian length.
 */
import type { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';

export function writeMessage(socket: Socket, message: unknown): boolean {
  if (!socket.writable) return false;
  const body = serialize(message);
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(body.length, 0);
  // one writev for both: a message is one syscall, and usually one chunk for the reader
  socket.cork();
  socket.write(header);
  const flowing = socket.write(body);
  socket.uncork();
  return flowing;
}

/** Calls `onMessage` with each whole message, whatever the chunk boundaries. */
export function readMessages(socket: Socket, onMessage: (message: unknown) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    while (buffered.length >= 4) {
      const size = buffered.readUInt32BE(0);
      if (buffered.length < 4 + size) break;
      const body = buffered.subarray(4, 4 + size);
      buffered = buffered.subarray(4 + size);
      onMessage(deserialize(body));
    }
  });
}
