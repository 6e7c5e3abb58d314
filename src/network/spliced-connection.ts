/**
 * One forwarded TCP connection inside the pump thread: bytes go socket → pipe → socket with
 * splice(2), so they never enter JavaScript (or user space at all). The pipe of each direction is the
 * only buffer, which bounds memory per connection and gives backpressure for free: a full pipe stops
 * reading, and the sender's TCP window closes behind it.
 *
 * The sockets are registered edge-triggered for both directions, so every event runs both flows
 * until the kernel would block: a flow waiting on a full pipe resumes when its writable edge comes.
 */
import { constants } from 'node:os';
import * as sys from '../runtime/syscalls.js';

const { EAGAIN, EINPROGRESS } = constants.errno;

/** Bytes from one socket to the other; `run` returns 0, or -errno when the connection failed. */
class Flow {
  private queued = 0;
  private ended = false;
  shut = false;

  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly pipe: readonly [number, number],
    private readonly capacity: number,
  ) {}

  run(): number {
    for (;;) {
      let moved = false;
      if (!this.ended && this.queued < this.capacity) {
        const n = sys.splice(this.from, this.pipe[1], this.capacity - this.queued);
        if (n > 0) (this.queued += n), (moved = true);
        else if (n === 0) (this.ended = true), (moved = true);
        // EAGAIN: the socket is empty, or the pipe's slots are used up by small segments (drained below)
        else if (n !== -EAGAIN) return n;
      }
      if (this.queued > 0) {
        const n = sys.splice(this.pipe[0], this.to, this.queued);
        if (n > 0) (this.queued -= n), (moved = true);
        else if (n !== -EAGAIN) return n;
      }
      if (this.ended && this.queued === 0 && !this.shut) {
        // the half-close passes through: the other side may still answer
        this.shut = true;
        sys.shutdown(this.to, sys.SHUT.WR);
      }
      if (!moved) return 0;
    }
  }
}

export class SplicedConnection {
  private flows: [Flow, Flow] | undefined;
  private pipes: number[] = [];
  closed = false;

  /**
   * `client` is connected; `upstream` is connecting (`connect` returned `connectResult`: 0 or
   * -EINPROGRESS). Both are non-blocking sockets this connection now owns, watched by `epoll`.
   */
  constructor(
    private readonly epoll: number,
    readonly client: number,
    readonly upstream: number,
    connectResult: number,
    private readonly pipeSize: number,
  ) {
    const events = sys.EPOLL.IN | sys.EPOLL.OUT | sys.EPOLL.RDHUP | sys.EPOLL.ET;
    sys.epollAdd(epoll, client, events);
    sys.epollAdd(epoll, upstream, events);
    if (connectResult === 0) this.open();
    else if (connectResult !== -EINPROGRESS) this.close(true);
  }

  /** The epoll events of one of its sockets. */
  handle(fd: number, events: number): void {
    if (this.closed) return;
    if (!this.flows) {
      // the client may have sent already: its bytes wait in its socket until upstream is connected
      if (fd !== this.upstream || !(events & (sys.EPOLL.OUT | sys.EPOLL.ERR | sys.EPOLL.HUP))) return;
      // refused (nothing listens yet): the client sees a reset, as a closed port would give it
      if (sys.socketError(this.upstream) !== 0) return this.close(true);
      this.open();
      return;
    }
    if (events & sys.EPOLL.ERR && sys.socketError(fd) !== 0) return this.close(true);
    this.run();
  }

  /** Closes both sockets; `reset` makes the peers see a reset instead of an orderly end. */
  close(reset: boolean): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [this.client, this.upstream]) {
      sys.epollDelete(this.epoll, fd);
      if (reset) sys.setResetOnClose(fd);
      sys.closeFd(fd);
    }
    for (const fd of this.pipes) sys.closeFd(fd);
  }

  private open(): void {
    sys.setNoDelay(this.client);
    sys.setNoDelay(this.upstream);
    try {
      this.pipes.push(...sys.pipe(this.pipeSize));
      this.pipes.push(...sys.pipe(this.pipeSize));
    } catch {
      return this.close(true); // out of descriptors: refuse this one connection, keep the rest
    }
    const up = [this.pipes[0]!, this.pipes[1]!] as const;
    const down = [this.pipes[2]!, this.pipes[3]!] as const;
    this.flows = [new Flow(this.client, this.upstream, up, sys.pipeSize(up[1])), new Flow(this.upstream, this.client, down, sys.pipeSize(down[1]))];
    this.run();
  }

  private run(): void {
    const [a, b] = this.flows!;
    // a failure on either side (ECONNRESET, EPIPE) resets the other: it must not mistake it for an end
    if (a.run() < 0 || b.run() < 0) return this.close(true);
    if (a.shut && b.shut) this.close(false);
  }
}
