/**
 * A container stand-in for unit tests of wait strategies (these, or a user's own): every answer a
 * strategy asks for is a field the test sets, and `exit()` ends it as a real one would.
 */
import { MayflyError } from '../../core/errors.js';
import type { LogEntry, LogStream, ReadLogsOptions } from '../../model/container-logs.js';
import type { ExecResult } from '../../model/container-types.js';
import type { ContainerStatus, WaitTarget } from './types.js';

export class FakeWaitTarget implements WaitTarget {
  name = 'fake-1';
  host = '127.0.0.1';
  status: ContainerStatus = 'running';
  /** container port → host port */
  published = new Map<number, number>();
  listeningPorts: number[] = [];
  entries: LogEntry[] = [];
  execs: string[][] = [];
  onExec: (argv: string[]) => ExecResult | Promise<ExecResult> = () => ({ exitCode: 0, stdout: '', stderr: '' });
  private exitStatus: { exitCode: number; oomKilled: boolean } | undefined;

  port(containerPort: number): number {
    const hostPort = this.published.get(containerPort);
    if (hostPort === undefined) throw new MayflyError('INVALID_OPTION', `container port ${containerPort} of ${this.name} is not published`);
    return hostPort;
  }

  async listening(): Promise<number[]> {
    return [...this.listeningPorts];
  }

  async exec(argv: string[]): Promise<ExecResult> {
    this.execs.push(argv);
    return this.onExec(argv);
  }

  async logs(opts: ReadLogsOptions = {}): Promise<LogEntry[]> {
    return opts.tail === undefined ? [...this.entries] : this.entries.slice(-opts.tail);
  }

  print(line: string, stream: LogStream = 'stdout'): void {
    this.entries.push({ time: new Date().toISOString(), stream, line });
  }

  exit(exitCode: number, oomKilled = false): void {
    this.status = 'exited';
    this.exitStatus = { exitCode, oomKilled };
    this.published.clear();
  }

  async wait(): Promise<{ exitCode: number; oomKilled: boolean }> {
    if (!this.exitStatus) throw new MayflyError('CONTAINER_STATE', `${this.name} has not exited`);
    return this.exitStatus;
  }
}

/** Runs `fn` after `ms` (for a condition that comes true while a wait is under way). */
export function after(ms: number, fn: () => void): void {
  setTimeout(fn, ms).unref();
}
