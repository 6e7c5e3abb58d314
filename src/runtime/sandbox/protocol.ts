/** Messages between a runtime (the owner process) and its sandbox, over Node's IPC channel. */
import type { SerializedMayflyError } from '../../errors.js';
import type { ContainerSpec } from '../spec.js';
import type { CgroupStats } from '../cgroups/types.js';
import type { PublishedPort } from '../../network/port-forwarder.js';
import type { Attachment } from '../../network/sandbox-networks.js';
import type { PullProgress } from '../../image/pull.js';
import type { ArchiveImage } from '../../image/archive/import-archive.js';
import type { ImageRecord, LayerRecord } from '../../image/store/image-store.js';
import type { StageCopyOptions } from '../../image/build/stage-copy.js';

export interface ContainerCreate {
  id: string;
  name: string;
  spec: ContainerSpec;
}

export interface ExecRequest {
  argv: string[];
  env?: Record<string, string>;
  user?: string;
  workingDir?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ContainerStats extends CgroupStats {
  /** where the numbers come from: the container's cgroup, or /proc of its processes */
  source: 'cgroup' | 'proc';
}

export interface RequestMap {
  create: { args: ContainerCreate; result: { dir: string; warnings: string[] } };
  start: { args: { id: string; attach: boolean }; result: { pid: number; ports: PublishedPort[]; networks: Attachment[] } };
  stop: { args: { id: string; signal?: string; timeout?: number }; result: { exitCode: number } };
  kill: { args: { id: string; signal: string }; result: null };
  pause: { args: { id: string }; result: { method: 'freezer' | 'sigstop' } };
  unpause: { args: { id: string }; result: null };
  exec: { args: { id: string; request: ExecRequest }; result: ExecResult };
  stats: { args: { id: string }; result: ContainerStats };
  /** extracts a tar (a host file) into a directory of the running container */
  'copy-in': { args: { id: string; archive: string; targetDir: string }; result: null };
  /** writes a path of the running container as a tar (a host file) */
  'copy-out': { args: { id: string; path: string; archive: string }; result: null };
  /** TCP ports listening inside the container's network namespace */
  listening: { args: { id: string }; result: { tcp: number[] } };
  remove: { args: { id: string; force: boolean }; result: null };
  shutdown: { args: Record<string, never>; result: null };
  pull: { args: { ref: string; platform?: string; pullId: number }; result: ImageRecord };
  'remove-layers': { args: { paths: string[] }; result: { removed: string[] } };
  /** deletes named volumes (their files may belong to container ids); refused while in use unless forced */
  'remove-volumes': { args: { names: string[]; force: boolean }; result: { removed: string[] } };
  load: { args: { images: ArchiveImage[]; source: string }; result: ImageRecord[] };
  /** how: move the directory into the store, copy it, or snapshot it (copy first: a running container's upper dir) */
  'commit-layer': { args: { dir: string; parentChainId?: string; how: 'move' | 'copy' | 'snapshot'; runtimeMountpoints: boolean }; result: LayerRecord };
  'stage-copy': { args: Omit<StageCopyOptions, 'stagingRoot'>; result: { dir: string } };
}

export type Op = keyof RequestMap;

export type Request = { [K in Op]: { id: number; op: K; args: RequestMap[K]['args'] } }[Op];

export type Reply = { re: number; ok: true; value: unknown } | { re: number; ok: false; error: SerializedMayflyError };

export type SandboxEvent =
  | { event: 'ready'; hostPid: number; rootfsDriver: string; cgroups: string; warnings: string[]; runDir: string }
  | { event: 'exit'; id: string; exitCode: number; oomKilled: boolean }
  | { event: 'output'; id: string; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { event: 'pull-progress'; pullId: number; progress: PullProgress }
  | { event: 'warning'; message: string };

export type SandboxMessage = Reply | SandboxEvent;
