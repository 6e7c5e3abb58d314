/**
 * What the builder needs from the engine below it, and nothing more: the image store, pulling an
 * image, running a container to its end, and the sandbox's file work for builds (copies into a
 * layer, listings of layers, paths with owners, commits). The runtime (or the engine façade)
 * passes an object with these; the builder never sees the runtime itself.
 */
import type { CopyPlan } from '../image/layer/copy-plan.js';
import type { ImageRecord, ImageStore, LayerRecord } from '../image/store/image-store.js';
import type { ContainerSpecInput } from '../model/container-spec.js';

export interface HostContainerRun {
  exitCode: number;
  /** its changes (the rootfs driver's diff, less the runtime's and the step's mount stubs) as a layer */
  commit(o: { parentChainId?: string; mountpoints: string[]; compression: 'gzip' | 'zstd' }): Promise<LayerRecord>;
  /** deletes the container */
  remove(): Promise<void>;
}

export interface BuildHost {
  readonly home: string;
  readonly store: ImageStore;
  /** a private directory the sandbox can read (downloads, secrets, heredoc scripts) */
  readonly scratchDir: string;
  pull(ref: string): Promise<ImageRecord>;
  /** creates the container, starts it, and resolves when it has exited (or the signal aborted it) */
  runContainer(spec: ContainerSpecInput, opts: { onOutput?: (stream: 'stdout' | 'stderr', data: Uint8Array) => void; signal?: AbortSignal }): Promise<HostContainerRun>;
  /** a staged copy (stage-copy's directory) made into a layer of the store */
  commitLayer(o: { dir: string; parentChainId?: string; compression: 'gzip' | 'zstd' }): Promise<LayerRecord>;
  stageCopy(plan: CopyPlan): Promise<{ dir: string; empty: boolean }>;
  listLayers(layers: string[], dir: string): Promise<{ rel: string; isDir: boolean }[]>;
  preparePath(o: { path: string; kind: 'dir' | 'file'; mode: number; uid: number; gid: number }): Promise<void>;
  removeStaged(dir: string): Promise<void>;
}
