/**
 * The keeper's wire format: newline-delimited JSON over a unix socket in MAYFLY_HOME. Requests carry
 * an id; replies echo it. Events (a container exited) are pushed to every connected client. A
 * connection whose first line is a `run` or `attach` request becomes an attach stream (frames.ts).
 */
import type { ContainerOptions } from '../engine/runtime.js';
import type { SerializedMayflyError } from '../core/errors.js';
import type { ContainerState } from '../model/container-state.js';
import type { Attachment, PublishedPort } from '../model/container-types.js';

/** A container the keeper holds: its record (as on disk) and what the keeper knows of it. */
export interface KeptContainer extends Omit<ContainerState, 'status' | 'networks'> {
  dir: string;
  key: string;
  ports: PublishedPort[];
  networks: Attachment[];
  status: 'created' | 'running' | 'paused' | 'exited' | 'removed';
  imageId?: string;
  /** false when it was already running: a reuse */
  created: boolean;
  /** where copies for it are staged (the keeper's sandbox's directory) */
  stagingDir: string;
  /** started by `mayfly run -d` or compose: kept until removed, not only while in use */
  detached: boolean;
  labels: Record<string, string>;
}

export type KeeperRequest =
  | { id: number; op: 'ensure'; key: string; options: ContainerOptions; detached?: boolean; autoRemove?: boolean }
  /** `docker create`: a persistent container, not started */
  | { id: number; op: 'create'; options: ContainerOptions; autoRemove?: boolean }
  | { id: number; op: 'kill'; container: string; signal: string }
  | { id: number; op: 'exec'; container: string; argv: string[]; env?: Record<string, string>; user?: string; workingDir?: string }
  | { id: number; op: 'listening' | 'stats' | 'pause' | 'unpause' | 'describe' | 'start'; container: string }
  | { id: number; op: 'remove'; container: string; force?: boolean; volumes?: boolean }
  | { id: number; op: 'stop' | 'restart'; container: string; timeout?: number; signal?: string }
  | { id: number; op: 'copy-in'; container: string; archive: string; targetDir: string }
  | { id: number; op: 'path-kind'; container: string; path: string }
  | { id: number; op: 'copy-out'; container: string; path: string; archive: string }
  /** `docker commit`: changes are Dockerfile instructions (dockerfile/commit-changes.ts); paused meanwhile unless `pause: false` */
  | { id: number; op: 'commit'; container: string; name?: string; changes?: string[]; comment?: string; author?: string; pause?: boolean }
  | { id: number; op: 'connect'; container: string; network: string; aliases?: string[] }
  | { id: number; op: 'disconnect'; container: string; network: string; force?: boolean }
  | { id: number; op: 'prune' }
  /** `ps -s`: writable layer and virtual (image + writable) sizes */
  | { id: number; op: 'sizes'; containers: string[] }
  | { id: number; op: 'list' | 'shutdown' }
  /** the Docker API's socket path (`mayfly serve`, `mayfly docker-env`): the keeper then stays for MAYFLY_API_IDLE_SECONDS after the last request */
  | { id: number; op: 'api' };

/** a terminal's window size (`-t`) */
export interface TerminalSize {
  cols: number;
  rows: number;
}

/** The first line of an attach stream. */
export type AttachRequest =
  /** create, attach, start: `mayfly run` in the foreground; the container is stopped and removed if the connection drops first (unless the client detached) */
  | { op: 'run'; options: ContainerOptions; autoRemove?: boolean; size?: TerminalSize }
  /** the output of a container from now on (and its stdin, if it keeps one open), until it exits; `start`: started if it is not running (`start -a`) */
  | { op: 'attach'; container: string; start?: boolean; size?: TerminalSize }
  /** a command run in a running container, its output streamed (and its stdin with `stdin`, a terminal with `tty`) */
  | { op: 'exec-attach'; container: string; argv: string[]; env?: Record<string, string>; user?: string; workingDir?: string; stdin?: boolean; tty?: boolean; size?: TerminalSize };

/** What a client sends on the control stream of an attach connection. */
export type AttachControl = { signal: NodeJS.Signals } | { resize: TerminalSize } | { detach: true };

export type AttachEvent =
  | { event: 'started'; container: KeptContainer }
  | { event: 'exit'; exitCode: number; oomKilled: boolean }
  | { event: 'error'; error: SerializedMayflyError };

export type KeeperMessage =
  | { re: number; ok: true; value: unknown }
  | { re: number; ok: false; error: SerializedMayflyError }
  | { event: 'exit'; container: string; exitCode: number };

export const KEEPER_SOCKET = 'keeper.sock';
export const KEEPER_LOCK = 'keeper.lock';
/** `{pid, sandboxId}` of the keeper that runs now: readers tell its containers from those of a keeper that died */
export const KEEPER_INFO = 'keeper.json';
