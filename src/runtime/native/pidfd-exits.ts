/**
 * Exits of the processes the native start path made. They are children of the sandbox that libuv
 * does not know (it reaps only the children it spawned itself), so each is watched through its
 * pidfd. On SIGCHLD the kernel is asked which child is waiting to be reaped (waitid with WNOWAIT:
 * nothing is taken from libuv), and only that child's pidfd is reaped: a signal costs one check
 * per exit, not one per watched process (20 containers starting together made every exit, and
 * every new watch, ask all of them).
 */
import { closeSync } from 'node:fs';
import { reapPidfd, waitingChild } from './native-start.js';

export class PidfdExits {
  /** by pid: the pidfd and who waits for the exit code */
  private readonly watched = new Map<number, { pidfd: number; resolve: (code: number) => void }>();
  private readonly check = () => this.reapWaiting();
  /**
   * Node's signal watchers do not keep the event loop alive: while a process is watched, this timer
   * does (as a ChildProcess handle would), and it asks all now and then in case a signal was missed.
   */
  private keepAlive: NodeJS.Timeout | undefined;

  /** Resolves with the exit code (128+n for signal n) once process `pid` has ended; closes the pidfd. */
  watch(pidfd: number, pid: number): Promise<number> {
    return new Promise((resolve) => {
      if (!this.watched.size) {
        process.on('SIGCHLD', this.check);
        this.keepAlive = setInterval(() => this.reapAll(), 1000);
      }
      this.watched.set(pid, { pidfd, resolve });
      // it may have ended before we listened
      this.reap(pid);
    });
  }

  /**
   * Reaps the watched children the kernel says are waiting, one after another (signals coalesce:
   * one SIGCHLD may stand for several exits). A waiting child that is not ours (one of libuv's,
   * reaped by its own handler) hides the others behind it: then every watched pidfd is asked.
   */
  private reapWaiting(): void {
    for (;;) {
      const pid = waitingChild();
      if (pid === 0) return;
      if (!this.watched.has(pid) || !this.reap(pid)) {
        this.reapAll();
        return;
      }
    }
  }

  private reapAll(): void {
    for (const pid of [...this.watched.keys()]) this.reap(pid);
  }

  /** true once `pid` has been reaped (its waiter told) */
  private reap(pid: number): boolean {
    const w = this.watched.get(pid);
    if (!w) return false;
    let code: number | undefined;
    try {
      code = reapPidfd(w.pidfd);
    } catch {
      code = 255; // the pidfd is unusable: nothing more can be learned about that process
    }
    if (code === undefined) return false;
    this.watched.delete(pid);
    closeSync(w.pidfd);
    w.resolve(code);
    if (!this.watched.size) {
      process.off('SIGCHLD', this.check);
      clearInterval(this.keepAlive);
    }
    return true;
  }
}
