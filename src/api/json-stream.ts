/**
 * Docker's JSON-lines progress stream (pull, push, build, load): one JSON message a line, the
 * status line only once something is to be said. A failure before the first line is still an
 * HTTP error with its status (as dockerd answers a pull of an unknown image with 404); after it,
 * the stream ends with Docker's `{"errorDetail": {"message"}, "error"}` line, which clients print.
 */
import type { ServerResponse } from 'node:http';
import { messageOf } from './errors.js';

export class JsonStream {
  constructor(private readonly res: ServerResponse) {}

  get started(): boolean {
    return this.res.headersSent;
  }

  /** Sends the status line now (a build answers at once: its errors belong in the stream). */
  start(): void {
    if (this.res.headersSent) return;
    this.res.writeHead(200, { 'Content-Type': 'application/json' });
  }

  write(message: Record<string, unknown>): void {
    this.start();
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(`${JSON.stringify(message)}\n`);
  }

  end(): void {
    this.start();
    if (!this.res.writableEnded) this.res.end();
  }

  /** Ends the stream with the error, or rethrows it for an HTTP error when nothing was sent yet. */
  fail(e: unknown): void {
    if (!this.started) throw e;
    const message = messageOf(e);
    this.write({ errorDetail: { message }, error: message });
    this.end();
  }

  /** Runs `work` on this stream: its messages, then the end, or its failure told as Docker tells it. */
  async run(work: (out: JsonStream) => Promise<void>): Promise<void> {
    try {
      await work(this);
      this.end();
    } catch (e) {
      this.fail(e);
    }
  }
}
