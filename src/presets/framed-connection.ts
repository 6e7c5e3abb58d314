/**
 * A client connection to a database server speaking a framed binary protocol (PostgreSQL's,
 * MySQL's): bytes in, whole frames out, in order, to one reader at a time. The protocols differ
 * only in how a frame is cut from the bytes and what is said on the way in and out.
 */
import { connect, type Socket } from 'node:net';

export interface Endpoint {
  host: string;
  port: number;
  /** for the TCP connection and the handshake together; default 5 s */
  timeoutMs?: number;
}

export abstract class FramedConnection<F> {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly queue: F[] = [];
  private waiting: ((f: F | Error) => void) | undefined;
  private failure: Error | undefined;

  protected constructor(protected readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    const fail = (e: Error) => {
      this.failure ??= e;
      this.waiting?.(e);
      this.waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the server closed the connection')));
  }

  /** The first whole frame at the start of `buffer` and the bytes it takes, or undefined until one has arrived. */
  protected abstract cut(buffer: Buffer): { frame: F; length: number } | undefined;

  /** The next frame, waiting for it; rejects once the connection failed or closed. */
  protected next(): Promise<F> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = (f) => (f instanceof Error ? reject(f) : resolve(f));
    });
  }

  /** Ends the connection politely (`goodbye` is the protocol's last word) and waits up to a second for the server to close it. */
  protected async end(goodbye: Buffer): Promise<void> {
    if (this.socket.destroyed) return;
    const closed = new Promise<void>((r) => this.socket.once('close', () => r()));
    this.socket.end(goodbye);
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await closed;
    clearTimeout(timer);
  }

  private onData(d: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
    for (let got = this.cut(this.buffer); got; got = this.cut(this.buffer)) {
      this.buffer = this.buffer.subarray(got.length);
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(got.frame);
      } else this.queue.push(got.frame);
    }
  }
}

/** A connection made and through its handshake within the endpoint's timeout, or destroyed. */
export async function openConnection<C>(o: Endpoint, make: (socket: Socket) => C, handshake: (c: C) => Promise<void>): Promise<C> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const socket = connect({ host: o.host, port: o.port, noDelay: true });
  const c = make(socket);
  const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    await handshake(c);
    return c;
  } catch (e) {
    socket.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
