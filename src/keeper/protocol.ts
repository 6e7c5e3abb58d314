/**
 * The keeper's wire format: newline-delimited JSON over a unix socket in MAYFLY_HOME. Requests carry
 * an id; replies echo it. Events (a container exited) are pushed to every connected client.
 */
import type { ContainerOptions } from '../runtime/runtime.js';
import type { SerializedMayflyError } from '../errors.js';
import type { PublishedPort } from '../network/port-forwarder.js';
import type { Attachment } from '../network/sandbox-networks.js';

export interface KeptContainer {
  id: string;
  name: string;
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
  /** started by `mayfly run -d`: kept until removed, not only while in use */
  detached: boolean;
  command: string[];
  labels: Record<string, string>;
  image?: string;
  exitCode?: number;
}

export type KeeperRequest =
  | { id: number; op: 'ensure'; key: string; options: ContainerOptions; detached?: boolean }
  | { id: number; op: 'kill'; container: string; signal: string }
  | { id: number; op: 'exec'; container: string; argv: string[]; env?: Record<string, string>; user?: string; workingDir?: string }
  | { id: number; op: 'listening' | 'stats' | 'pause' | 'unpause' | 'remove' | 'describe' | 'start'; container: string }
  | { id: number; op: 'stop' | 'restart'; container: string; timeout?: number }
  | { id: number; op: 'copy-in'; container: string; archive: string; targetDir: string }
  | { id: number; op: 'copy-out'; container: string; path: string; archive: string }
  | { id: number; op: 'list' | 'shutdown' };

export type KeeperMessage =
  | { re: number; ok: true; value: unknown }
  | { re: number; ok: false; error: SerializedMayflyError }
  | { event: 'exit'; container: string; exitCode: number };

export const KEEPER_SOCKET = 'keeper.sock';
export const KEEPER_LOCK = 'keeper.lock';
