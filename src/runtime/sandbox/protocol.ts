/** Messages between a runtime (the owner process) and its sandbox, over Node's IPC channel. */
import type { SerializedMayflyError } from '../../core/errors.js';
import type { ContainerSpec } from '../../model/container-spec.js';
import type { PublishedPort } from '../../model/container-types.js';
import type { Attachment } from '../../model/container-types.js';
import type { PullProgress } from '../../image/progress.js';
import type { ArchiveImage } from '../../image/archive/import-archive.js';
import type { RegistryCredentials } from '../../image/credentials.js';
import type { ImageRecord, LayerRecord } from '../../image/store/image-store.js';
import type { CopyPlan } from '../../image/layer/copy-plan.js';
import type { ContainerStats, ExecResult } from '../../model/container-types.js';
import type { SnapshotCommit, SnapshotLookup } from '../../image/snapshot/snapshot-store.js';
import type { OwnMemory } from './own-memory.js';

export interface ContainerCreate {
  id: string;
  name: string;
  spec: ContainerSpec;
  /** start it as well (run): one request instead of two */
  start?: { attach: boolean; size?: TerminalSize };
  extras?: ContainerExtras;
}

/** a terminal's window size (`-t`) */
export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface ContainerStarted {
  pid: number;
  ports: PublishedPort[];
  networks: Attachment[];
}

/** What a container is beyond its spec: kept after its sandbox ends, removed at exit, how its command was made. */
export interface ContainerExtras {
  persistent?: boolean;
  autoRemove?: boolean;
  entrypoint?: string[];
  cmd?: string[];
}

/** A container taken over from disk: how it stands now. */
export interface AdoptedContainer {
  name: string;
  spec: ContainerSpec;
  dir: string;
  status: 'created' | 'exited';
  exitCode?: number;
  extras: ContainerExtras;
}

export interface ExecRequest {
  argv: string[];
  env?: Record<string, string>;
  user?: string;
  workingDir?: string;
}

/** how a new layer's blob is compressed (default gzip) */
export type LayerCompression = 'gzip' | 'zstd';

export interface RequestMap {
  /** with `start`: also started (`started`), or removed again when the start fails */
  create: { args: ContainerCreate; result: { dir: string; warnings: string[]; started?: ContainerStarted } };
  start: { args: { id: string; attach: boolean; size?: TerminalSize }; result: ContainerStarted };
  /** input for a process started with -i or -t (`id`: a container's PID 1, or an exec session); `eof` closes its stdin */
  input: { args: { id: string; data?: Uint8Array; eof?: boolean }; result: null };
  /** the window size of a process's terminal (-t) */
  resize: { args: { id: string } & TerminalSize; result: null };
  /** exec with its output streamed as `output` events of `session`, and its end as an `exec-exit` event; resolves once it runs */
  'exec-attached': { args: { id: string; session: string; request: ExecRequest; tty: boolean; stdin: boolean; size?: TerminalSize }; result: null };
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
  'network-connect': { args: { id: string; network: string; aliases: string[] }; result: { networks: Attachment[] } };
  'network-disconnect': { args: { id: string; network: string }; result: { networks: Attachment[] } };
  /** what a path of the running container is: dir, file or missing */
  'path-kind': { args: { id: string; path: string }; result: { kind: 'dir' | 'file' | 'missing' } };
  /** TCP ports listening inside the container's network namespace */
  listening: { args: { id: string }; result: { tcp: number[] } };
  /** the sandbox's own memory, after a full garbage collection when `gc` (leak checks) */
  memory: { args: { gc: boolean }; result: OwnMemory };
  remove: { args: { id: string; force: boolean }; result: null };
  /** bytes in the container's writable layer */
  'disk-usage': { args: { id: string }; result: { rw: number } };
  /** takes over a persistent container another sandbox held (it ended): stopped, ready for start, rm or commit */
  adopt: { args: { id: string }; result: AdoptedContainer };
  shutdown: { args: Record<string, never>; result: null };
  /** `credentials`: the caller's own (a Docker API client's X-Registry-Auth), used instead of the stored ones */
  pull: { args: { ref: string; platform?: string; pullId: number; credentials?: RegistryCredentials }; result: ImageRecord };
  'remove-layers': { args: { paths: string[] }; result: { removed: string[] } };
  /** deletes named volumes (their files may belong to container ids); refused while in use unless forced */
  'remove-volumes': { args: { names: string[]; force: boolean }; result: { removed: string[] } };
  load: { args: { images: ArchiveImage[]; source: string }; result: ImageRecord[] };
  /** how: move the directory into the store, copy it, or snapshot it (copy first: a running container's upper dir) */
  /** a directory in overlay format (a staged COPY, an imported root filesystem) as a layer: `move` takes it (only mayfly's own), `copy` leaves it */
  'commit-layer': { args: { dir: string; parentChainId?: string; how: 'move' | 'copy'; compression?: LayerCompression }; result: LayerRecord };
  /** a container's changes (its rootfs driver's diff) as a layer: `snapshot` leaves the container as it is; `move` may take its upper dir (a finished RUN step) */
  'commit-container': {
    args: {
      id: string;
      parentChainId?: string;
      how: 'move' | 'snapshot';
      /** image paths a build step mounted something at: their stubs (and new empty parents) are not part of the layer */
      mountpoints?: string[];
      compression?: LayerCompression;
    };
    result: LayerRecord;
  };
  /** a COPY/ADD's files in a staging directory (under the store's layers dir) that commit-layer then moves; `empty`: nothing new in it */
  'stage-copy': { args: { plan: CopyPlan }; result: { dir: string; empty: boolean } };
  /** the paths below a directory of an image's layers, parents first (COPY --from with wildcards) */
  'list-layers': { args: { layers: string[]; dir: string }; result: { rel: string; isDir: boolean }[] };
  /** a directory or file under MAYFLY_HOME with this owner and mode (build cache mounts, secrets) */
  'prepare-path': { args: { path: string; kind: 'dir' | 'file'; mode: number; uid: number; gid: number }; result: null };
  /** deletes a staging directory stage-copy made that will not become a layer */
  'remove-staged': { args: { dir: string }; result: null };
  /** scratch directories on the sandbox's tmpfs for a first start's state (one per path, with its mode) */
  'snapshot-scratch': { args: { modes: (number | undefined)[] }; result: { id: string; dirs: string[] } };
  'snapshot-discard-scratch': { args: { id: string }; result: null };
  /** the snapshot of a key, if its record names this image (its files are checked by snapshot-verify) */
  'snapshot-lookup': { args: { key: string; imageId: string }; result: SnapshotLookup };
  /** every file of a snapshot as its manifest recorded it */
  'snapshot-verify': { args: { key: string }; result: { ok: true } | { ok: false; reason: string } };
  /** a stopped first start's scratch state as the snapshot of `key` */
  'snapshot-commit': { args: { key: string; imageId: string; image: string; paths: string[]; scratchId: string }; result: SnapshotCommit };
  /** deletes snapshots (the owner holds the snapshot store's lock exclusively) */
  'remove-snapshots': { args: { keys: string[] } | { all: true }; result: { removed: string[] } };
}

export type Op = keyof RequestMap;

export type Request = { [K in Op]: { id: number; op: K; args: RequestMap[K]['args'] } }[Op];

export type Reply = { re: number; ok: true; value: unknown } | { re: number; ok: false; error: SerializedMayflyError };

export type SandboxEvent =
  | { event: 'ready'; hostPid: number; sandboxId?: string; rootfsDriver: string; rootfsReason?: string; cgroups: string; warnings: string[]; runDir: string; startPath: string }
  /** the sandbox could not set itself up (e.g. MAYFLY_HOME not writable); it exits after this */
  | { event: 'boot-failed'; error: SerializedMayflyError }
  | { event: 'exit'; id: string; exitCode: number; oomKilled: boolean }
  | { event: 'output'; id: string; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { event: 'exec-exit'; session: string; exitCode: number }
  | { event: 'pull-progress'; pullId: number; progress: PullProgress }
  | { event: 'warning'; message: string };

export type SandboxMessage = Reply | SandboxEvent;
