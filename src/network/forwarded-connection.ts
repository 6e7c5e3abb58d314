/**
 * One forwarded TCP connection inside the pump thread: read(2) from one socket, write(2) to the
 * other, in both directions, with a buffer per direction as the only user-space storage.
 *
 * Why copy instead of splice(2) through a pipe: measured on loopback (bench/results/ports-*.md),
 * splicing saves the pump its two copies but hands the receiver segments made of many small page
 * fragments, which cost the receiving process more than the copies cost the pump: copying with a
 * large buffer moves more bytes per CPU second end to end.
 *
 * A direction reads only into free buffer space: a full buffer stops reading, and the sender's TCP
 * window closes behind it (backpressure, bounded memory). Its buffer starts small and grows while
 * reads fill it (bulk transfers make fewer, larger system calls); an idle connection gives it back.
 * The sockets are watched edge-triggered, and every event runs both directions until the kernel
 * would block.
 */
import { constants } from 'node:os';
import * as poll from '../sys/poll.js';
import * as sockets from '../sys/sockets.js';
import type { Poller, PollOwner } from './poller.js';

const { EAGAIN, EINPROGRESS, EINTR } = constants.errno;

const MIN_BUFFER = 64 * 1024;
const MAX_BUFFER = 1024 * 1024;

/** Bytes from one socket to the other; `run` returns 0, or -errno when the connection failed. */
class Direction {
  private buf: Buffer | undefined;
  private size = MIN_BUFFER;
  /** unsent bytes are buf[start, end) */
  private start = 0;
  private end = 0;
  private ended = false;
  /** bytes moved since the last `idle` check */
  private moved = 0;
  shut = false;

  constructor(
    private readonly from: number,
    private readonly to: number,
  ) {}

  run(): number {
    for (;;) {
      let progress = false;
      if (!this.ended && (!this.buf || this.end < this.buf.length)) {
        const buf = (this.buf ??= Buffer.allocUnsafe(this.size));
        const room = buf.length - this.end;
        const n = poll.read(this.from, buf, this.end, room);
        if (n > 0) {
          this.end += n;
          this.moved += n;
          progress = true;
          if (n === room) this.size = Math.min(MAX_BUFFER, buf.length * 4); // a bulk transfer: a bigger buffer once this one is empty
        } else if (n === 0) {
          this.ended = progress = true;
        } else if (n !== -EAGAIN && n !== -EINTR) {
          return n;
        }
      }
      if (this.end > this.start) {
        const n = poll.write(this.to, this.buf!, this.start, this.end - this.start);
        if (n > 0) {
          this.start += n;
          progress = true;
          if (this.start === this.end) this.emptied();
        } else if (n !== -EAGAIN && n !== -EINTR) {
          return n;
        }
      }
      if (this.ended && this.end === this.start && !this.shut) {
        // the half-close passes through: the other side may still answer
        this.shut = true;
        sockets.shutdown(this.to, sockets.SHUT.WR);
      }
      if (!progress) return 0;
    }
  }

  /** Gives the buffer back if nothing moved since the last call and nothing waits in it. */
  releaseIfIdle(): void {
    if (this.moved === 0 && this.end === this.start) {
      this.buf = undefined;
      this.size = MIN_BUFFER;
    }
    this.moved = 0;
  }

  private emptied(): void {
    this.start = this.end = 0;
    if (this.buf && this.buf.length < this.size) this.buf = undefined; // grown: the next read allocates the bigger one
  }
}

export class ForwardedConnection implements PollOwner {
  private directions: [Direction, Direction] | undefined;
  closed = false;

  /**
   * `client` is connected; `upstream` is connecting (`connect` returned `connectResult`: 0 or
   * -EINPROGRESS). Both are non-blocking sockets this connection now owns; `onClose` hears when it ends.
   */
  constructor(
    private readonly poller: Poller,
    private readonly client: number,
    private readonly upstream: number,
    connectResult: number,
    private readonly onClose: (c: ForwardedConnection) => void = () => {},
  ) {
    const events = poll.EPOLL.IN | poll.EPOLL.OUT | poll.EPOLL.RDHUP | poll.EPOLL.ET;
    poller.watch(client, events, this);
    poller.watch(upstream, events, this);
    if (connectResult === 0) this.open();
    else if (connectResult !== -EINPROGRESS) this.close(true);
  }

  onEvents(fd: number, events: number): void {
    if (this.closed) return;
    if (!this.directions) {
      // the client may have sent already: its bytes wait in its socket until upstream is connected
      if (fd !== this.upstream || !(events & (poll.EPOLL.OUT | poll.EPOLL.ERR | poll.EPOLL.HUP))) return;
      // refused (nothing listens yet): the client sees a reset, as a closed port would give it
      if (sockets.socketError(this.upstream) !== 0) return this.close(true);
      return this.open();
    }
    if (events & poll.EPOLL.ERR && sockets.socketError(fd) !== 0) return this.close(true);
    this.run();
  }

  fail(error: unknown): void {
    if (process.env.MAYFLY_DEBUG) process.stderr.write(`mayfly: forwarding: ${(error as Error).message}\n`);
    this.close(true);
  }

  /** Lets idle directions give their buffers back (called now and then). */
  releaseIdleBuffers(): void {
    for (const d of this.directions ?? []) d.releaseIfIdle();
  }

  /** Closes both sockets; `reset` makes the peers see a reset instead of an orderly end. */
  close(reset: boolean): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [this.client, this.upstream]) {
      if (reset) sockets.setResetOnClose(fd);
      this.poller.release(fd);
    }
    this.directions = undefined;
    this.onClose(this);
  }

  private open(): void {
    // segments leave as soon as they arrive: Nagle's delay belongs to the original sender, not to a relay
    sockets.setNoDelay(this.client);
    sockets.setNoDelay(this.upstream);
    this.directions = [new Direction(this.client, this.upstream), new Direction(this.upstream, this.client)];
    this.run();
  }

  private run(): void {
    const [a, b] = this.directions!;
    // a failure on either side (ECONNRESET, EPIPE) resets the other: it must not mistake it for an end
    if (a.run() < 0 || b.run() < 0) return this.close(true);
    if (a.shut && b.shut) this.close(false);
  }
}
