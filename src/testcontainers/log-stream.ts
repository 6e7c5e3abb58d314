/**
 * A container's output as Testcontainers' `logs()` gives it: a text stream of lines (stdout and
 * stderr as they came), following the container until it stops. It never keeps the process alive
 * by itself, so a stream nobody closes does not hold a test run open.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ContainerHandle } from '../harness/started-container.js';
import { followLogs } from '../model/container-logs.js';

/** how often an ended container is looked for */
const EXIT_CHECK_MS = 50;

export interface LogStreamOptions {
  /** epoch seconds: lines from then on */
  since?: number;
  /** only the last N lines already written, then the new ones */
  tail?: number;
}

export async function containerLogStream(c: ContainerHandle, opts: LogStreamOptions = {}): Promise<Readable> {
  const since = opts.since ? new Date(opts.since * 1000) : undefined;
  // lines to skip so that `tail` of those already written remain (later ones all count)
  let skip = opts.tail !== undefined && opts.tail >= 0 ? Math.max(0, (await c.logs(since ? { since } : {})).length - opts.tail) : 0;
  const ac = new AbortController();
  const stream = new Readable({ read() {}, encoding: 'utf8', destroy: (_e, cb) => (ac.abort(), cb(null)) });
  const follower = followLogs(
    join(c.dir, 'log.jsonl'),
    (e) => {
      if (since && new Date(e.time) < since) return;
      if (skip > 0) return void skip--;
      stream.push(`${e.line}\n`);
    },
    ac.signal,
    true,
    false,
  );
  const watch = setInterval(() => {
    if (c.status !== 'exited' && c.status !== 'removed') return;
    clearInterval(watch);
    // its last lines are on disk before its status says so: read to the end, then end the stream
    void follower.drain().then(() => ac.abort());
  }, EXIT_CHECK_MS);
  watch.unref();
  ac.signal.addEventListener('abort', () => {
    clearInterval(watch);
    stream.push(null);
  });
  return stream;
}
