/**
 * What waiting for readiness needs from a container, kept structural so that a started `Container`
 * is passed as it is and a unit test can fake one in a few lines.
 */
import type { Container } from '../../runtime/container.js';
import type { LogEntry, ReadLogsOptions } from '../../model/container-logs.js';
import type { ExecResult } from '../../model/container-types.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'exited' | 'removed';

export interface WaitTarget {
  readonly name: string;
  /** the host address of published ports */
  readonly host: string;
  readonly status: ContainerStatus;
  /** the host port a container port is published on; throws when it is not published */
  port(containerPort: number): number;
  /** the TCP ports listening inside the container's own network namespace */
  listening(): Promise<number[]>;
  exec(argv: string[]): Promise<ExecResult>;
  logs(opts?: ReadLogsOptions): Promise<LogEntry[]>;
  /** the container's directory, whose log.jsonl the sandbox appends each output line to (absent: its output cannot be watched) */
  readonly dir?: string;
  /** the exit status; asked only once `status` is `exited` or `removed`, so it resolves at once */
  wait?(): Promise<{ exitCode: number; oomKilled?: boolean }>;
}

/**
 * An image's HEALTHCHECK as in the OCI/Docker image config (`Healthcheck`), durations in
 * nanoseconds; 0 or absent means Docker's default (interval 30 s, timeout 30 s, start period 0,
 * retries 3).
 */
export interface Healthcheck {
  /** `["CMD", argv...]`, `["CMD-SHELL", "command"]` (run by /bin/sh -c) or `["NONE"]` */
  test: string[];
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  retries?: number;
}

/** What a strategy may know besides the container: the image's defaults, given by the harness. */
export interface WaitSubject {
  readonly target: WaitTarget;
  readonly healthcheck?: Healthcheck | undefined;
  /** the container's published and exposed ports, for `Wait.forListeningPorts()` without arguments */
  readonly exposedPorts: readonly number[];
}

export interface WaitContext extends WaitSubject {
  /** aborted when the deadline passes, the container exits or the caller cancels: stop at once */
  readonly signal: AbortSignal;
  /** when waiting began (epoch ms) */
  readonly since: number;
  /** Records what the latest attempt saw; a failure quotes the last one, and its hint. */
  saw(observation: string, hint?: string): void;
}

/**
 * One way of knowing a container is ready. Strategies keep no state between waits, so one object
 * may serve many containers at once.
 */
export interface WaitStrategy {
  /** What is awaited, in words; given a subject, with its real host ports and commands. */
  describe(subject?: WaitSubject): string;
  /**
   * Resolves once ready. Rejects with `ctx.signal.reason` once aborted, or with a MayflyError when
   * the container can never become ready this way (no healthcheck, no port to wait for, unhealthy).
   */
  wait(ctx: WaitContext): Promise<void>;
}

/** A started Container is passed as it is: this fails to compile the day it stops being a WaitTarget. */
type ContainerIsAWaitTarget<T extends WaitTarget = Container> = T;
