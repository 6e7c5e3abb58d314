/**
 * A foreground `compose up`: the services' output, each line prefixed by its service, until every
 * container has exited — or until Ctrl-C, as docker compose does it: the first SIGINT (or SIGTERM)
 * stops the services gracefully (their stop signal, then SIGKILL after their grace period), a second
 * one kills them at once. The containers stay, stopped, for `up` to start again or `down` to remove.
 */
import { join } from 'node:path';
import type { KeeperConnection } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import { followLogs, readLogs, type LogEntry, type LogFollower, type LogStream } from '../model/container-logs.js';
import { SERVICE_LABEL } from './service-options.js';
import type { Say, UpService } from './project.js';

/** Where output goes: the CLI prints `service | line`. */
export type LogSink = (service: string, stream: LogStream, line: string) => void;

/** Exit code of a foreground `up` ended by Ctrl-C (docker compose's). */
export const INTERRUPTED = 130;

export interface ForegroundOptions {
  /** run before a graceful stop of a container (its service's pre_stop hooks) */
  beforeStop?: (c: KeptContainer) => Promise<void>;
  print: LogSink;
  say: Say;
  /** stop everything when one container exits (`--abort-on-container-exit`) */
  abortOnExit?: boolean;
  /** return this service's exit code; implies abortOnExit (`--exit-code-from`) */
  exitCodeFrom?: string;
  /** seconds to wait for a graceful stop (`-t`); default each service's own */
  timeout?: number;
  /** where SIGINT and SIGTERM come from (the process; a test may give another emitter) */
  signals?: NodeJS.EventEmitter;
}

/** Follows the services until they are done; returns the exit code `up` ends with. */
export async function attachServices(k: KeeperConnection, services: UpService[], opts: ForegroundOptions): Promise<number> {
  const signals = opts.signals ?? process;
  const follow = new AbortController();
  const codes = new Map<string, number>();
  const abortOnExit = opts.abortOnExit || opts.exitCodeFrom !== undefined;
  let running = new Set(services.map((s) => s.container.id));
  let stopping: Promise<void> | undefined;
  let interrupts = 0;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const serviceOf = (c: KeptContainer) => services.find((s) => s.container.id === c.id)!.plan.service;

  const stopAll = (how: 'stop' | 'kill') =>
    Promise.all(
      services
        .filter((s) => running.has(s.container.id))
        .map(async (s) => {
          if (how === 'kill') await k.request({ op: 'kill', container: s.container.id, signal: 'SIGKILL' }).catch(() => {});
          else {
            await opts.beforeStop?.(s.container);
            await k.request({ op: 'stop', container: s.container.id, ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) }).catch(() => {});
          }
          opts.say(`${how === 'kill' ? 'Killed' : 'Stopped'} ${s.container.name}`);
        }),
    ).then(() => {});

  const followers: LogFollower[] = [];
  // the last lines are on disk before an exit is reported: each follower reads to the end, then up ends
  const end = (code: number) => void Promise.all(followers.map((f) => f.drain())).then(() => finish(code));

  const exited = (c: KeptContainer, code: number) => {
    if (!running.has(c.id)) return;
    running = new Set([...running].filter((id) => id !== c.id));
    codes.set(serviceOf(c), code);
    opts.say(`${c.name} exited with code ${code}`);
    if (abortOnExit && !stopping) {
      opts.say('Aborting on container exit...');
      stopping = stopAll('stop');
      void stopping.then(() => end(opts.exitCodeFrom !== undefined ? (codes.get(opts.exitCodeFrom) ?? 0) : code));
      return;
    }
    if (!running.size && !stopping) end(opts.exitCodeFrom !== undefined ? (codes.get(opts.exitCodeFrom) ?? 0) : 0);
  };

  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      opts.say('Gracefully stopping... (press Ctrl+C again to force)');
      stopping = stopAll('stop');
      void stopping.then(() => end(INTERRUPTED));
    } else if (interrupts === 2) {
      opts.say('Killing...');
      void stopAll('kill').then(() => end(INTERRUPTED));
    } else finish(INTERRUPTED);
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  // the keeper holds the containers: without it there is nothing left to follow
  void k.closed.then(() => {
    opts.say('the mayfly keeper went away: its containers are gone');
    end(125);
  });

  for (const s of services) {
    const c = s.container;
    if (s.plan.attach) followers.push(followLogs(join(c.dir, 'log.jsonl'), (e) => opts.print(s.plan.service, e.stream, e.line), follow.signal, s.started));
    const early = k.exitedEarly.get(c.id);
    k.exitedEarly.delete(c.id);
    k.exits.set(c.id, (code) => exited(c, code));
    if (early !== undefined) exited(c, early);
  }
  // an exit reported before we listened (a one-shot service, done while others started) is in the keeper's record
  for (const s of services) {
    const now = await k.request<KeptContainer>({ op: 'describe', container: s.container.id }).catch(() => undefined);
    if (now && now.status === 'exited') exited(s.container, now.exitCode ?? 0);
  }
  try {
    return await k.hold(done);
  } finally {
    follow.abort();
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
    for (const s of services) k.exits.delete(s.container.id);
  }
}

/** `compose logs [-f] [--tail N] [-t]`: what the containers said, then (follow) what they say, until every one has exited or Ctrl-C. */
export async function showLogs(k: KeeperConnection, containers: KeptContainer[], opts: { follow: boolean; tail?: number; timestamps?: boolean; print: LogSink; signals?: NodeJS.EventEmitter }): Promise<void> {
  const serviceOf = (c: KeptContainer) => c.labels[SERVICE_LABEL] ?? c.name;
  const show = (c: KeptContainer, e: LogEntry) => opts.print(serviceOf(c), e.stream, opts.timestamps ? `${e.time} ${e.line}` : e.line);
  // what is there now (the last `tail` lines of each), then — following — what comes after; a
  // follower without a tail reads from the start itself, so that no line falls between the two
  const readFirst = !opts.follow || opts.tail !== undefined;
  if (readFirst) for (const c of containers) for (const e of await readLogs(join(c.dir, 'log.jsonl'), opts.tail !== undefined ? { tail: opts.tail } : {})) show(c, e);
  if (!opts.follow) return;
  const signals = opts.signals ?? process;
  const ac = new AbortController();
  const followers: LogFollower[] = [];
  const done = () => void Promise.all(followers.map((f) => f.drain())).then(() => ac.abort());
  let running = containers.filter((c) => c.status === 'running' || c.status === 'paused').length;
  for (const c of containers) {
    followers.push(followLogs(join(c.dir, 'log.jsonl'), (e) => show(c, e), ac.signal, !readFirst));
    k.exits.set(c.id, () => --running <= 0 && done());
  }
  if (!running) done();
  const stop = () => ac.abort();
  signals.once('SIGINT', stop);
  signals.once('SIGTERM', stop);
  try {
    await k.hold(new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true })));
  } finally {
    signals.off('SIGINT', stop);
    signals.off('SIGTERM', stop);
    for (const c of containers) k.exits.delete(c.id);
  }
}
