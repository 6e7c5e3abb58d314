/**
 * The attach stream: after its first JSON line (`{"op":"run",…}` or `{"op":"attach",…}`), a keeper
 * connection carries frames, each an 8-byte header — the stream (1 byte), 3 zero bytes, the
 * payload's length (32-bit big-endian) — and the payload. Docker's attach multiplexes stdout and
 * stderr the same way.
 *
 *   keeper → client  1 stdout, 2 stderr: the container's output as it comes
 *                    3 control (JSON): {event:'started', container}, {event:'exit', exitCode},
 *                      {event:'error', error}; after 'exit' or 'error' the keeper ends the connection
 *   client → keeper  3 control (JSON): {signal:'SIGINT'} — forwarded as `docker run` forwards signals;
 *                      {resize:{cols,rows}} — the terminal's window size (`-t`); {detach:true} — the
 *                      client leaves (Ctrl-P Ctrl-Q), the container keeps running
 *                    0 stdin: bytes for the process's stdin or terminal (`-i`, `-t`); an empty
 *                      frame is EOF
 */
export const STREAM = { stdin: 0, stdout: 1, stderr: 2, control: 3 } as const;
export type StreamId = (typeof STREAM)[keyof typeof STREAM];

const HEADER = 8;

export function encodeFrame(stream: StreamId, payload: Uint8Array | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const header = Buffer.alloc(HEADER);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

export const controlFrame = (message: unknown): Buffer => encodeFrame(STREAM.control, JSON.stringify(message));

/** Cuts a byte stream into frames, whatever the chunk boundaries. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { stream: StreamId; payload: Buffer }[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const out: { stream: StreamId; payload: Buffer }[] = [];
    while (this.buffered.length >= HEADER) {
      const size = this.buffered.readUInt32BE(4);
      if (this.buffered.length < HEADER + size) break;
      out.push({ stream: this.buffered[0] as StreamId, payload: this.buffered.subarray(HEADER, HEADER + size) });
      this.buffered = this.buffered.subarray(HEADER + size);
    }
    return out;
  }
}
