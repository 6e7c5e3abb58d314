/**
 * The pump thread's epoll set: which object owns each watched descriptor, and closes deferred to
 * the end of a batch of events. A descriptor closed mid-batch could be reused at once by a new
 * socket (a UDP client's, a command's), and an event still queued for the old one would then be
 * handed to the new owner; deferring the close keeps numbers unique for the whole batch.
 */
import * as libc from '../sys/libc.js';
import * as poll from '../sys/poll.js';

export interface PollOwner {
  onEvents(fd: number, events: number): void;
  /** `onEvents` threw: the owner ends what it can no longer trust; the loop goes on for the others */
  fail(error: unknown): void;
}

const MAX_EVENTS = 128;

export class Poller {
  private readonly epoll = poll.epollCreate();
  private readonly owners = new Map<number, PollOwner>();
  private closing: number[] = [];
  private readonly events = Buffer.alloc(MAX_EVENTS * poll.EPOLL_EVENT_SIZE);

  watch(fd: number, events: number, owner: PollOwner): void {
    poll.epollAdd(this.epoll, fd, events);
    this.owners.set(fd, owner);
  }

  /** Stops watching `fd` (if it was) and closes it once the current batch is handled. */
  release(fd: number): void {
    if (this.owners.delete(fd)) poll.epollDelete(this.epoll, fd);
    this.closing.push(fd);
  }

  /** Waits up to `timeoutMs` for events and hands each to its descriptor's owner. */
  poll(timeoutMs: number): void {
    const n = poll.epollWait(this.epoll, this.events, timeoutMs);
    for (let i = 0; i < n; i++) {
      const { fd, events } = poll.epollEventAt(this.events, i);
      const owner = this.owners.get(fd);
      try {
        owner?.onEvents(fd, events);
      } catch (e) {
        owner!.fail(e);
      }
    }
    this.closeReleased();
  }

  /** Closes what was released outside a batch (no events pending): at once, not after the next wait. */
  closeReleased(): void {
    for (const fd of this.closing) libc.closeFd(fd);
    this.closing = [];
  }

  /** Closes the epoll set itself; owners must have released their descriptors. */
  close(): void {
    this.closeReleased();
    libc.closeFd(this.epoll);
  }
}
