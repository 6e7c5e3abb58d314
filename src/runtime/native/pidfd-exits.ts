/**
 * Exits of the processes the native start path made. They are children of the sandbox that libuv
 * does not know (it reaps only the children it spawned itself), so each is watched through its
 * pidfd: on every SIGCHLD, the watched pidfds are asked, without waiting, whether theirs has ended.
 */
import { closeSync } from 'node:fs';
import { reapPidfd } from './native-start.js';

export class PidfdExits {
  private readonly watched = new Map<number, (code: number) => void>();
  private readonly check = () => this.reapAll();
  /**
   * Node's signal watchers do not keep the event loop alive: while a process is watched, this timer
   * does (as a ChildProcess handle would), and it asks again now and then in case a signal was missed.
   */
  private keepAlive: NodeJS.Timeout | undefined;

  /** Resolves with the exit code (128+n for signal n) once the process has ended; closes the pidfd. */
  watch(pidfd: number): Promise<number> {
    return new Promise((resolve) => {
      if (!this.watched.size) {
        process.on('SIGCHLD', this.check);
        this.keepAlive = setInterval(this.check, 1000);
      }
      this.watched.set(pidfd, resolve);
      // it may have ended before we listened
      this.reapAll();
    });
  }

  private reapAll(): void {
    for (const [pidfd, resolve] of this.watched) {
      let code: number | undefined;
      try {
        code = reapPidfd(pidfd);
      } catch {
        code = 255; // the pidfd is unusable: nothing more can be learned about that process
      }
      if (code === undefined) continue;
      this.watched.delete(pidfd);
      closeSync(pidfd);
      resolve(code);
    }
    if (!this.watched.size) {
      process.off('SIGCHLD', this.check);
      clearInterval(this.keepAlive);
    }
  }
}
