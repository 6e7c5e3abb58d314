/**
 * What every step of one build shares: the host, the context, the layer cache, the options, the
 * results of the other stages and images, the scratch directory, and the events it reports.
 */
import type { BuildHost } from './build-host.js';
import type { BuildContext } from './context.js';
import type { Dockerfile } from './dockerfile/parse.js';
import type { LayerCache } from './layer-cache.js';
import type { BuildStep, NormalizedBuildOptions } from './options.js';
import type { StageResult } from './stage-state.js';

export interface BuildSession {
  host: BuildHost;
  context: BuildContext;
  cache: LayerCache;
  options: NormalizedBuildOptions;
  dockerfile: Dockerfile;
  /** aborted when another stage failed: running steps stop */
  signal: AbortSignal;
  /** a private directory of this build (removed at its end) the sandbox can read */
  scratch: string;
  /** a stage by index (built once, awaited by every stage that needs it) */
  stage(index: number): Promise<StageResult>;
  /** an image as a source (COPY --from=image, FROM image): pulled when missing or when --pull */
  image(ref: string): Promise<StageResult>;
  warn(message: string): void;
  output(stream: 'stdout' | 'stderr', data: Uint8Array): void;
  /** reports a step as it starts; returns its index */
  step(e: Omit<BuildStep, 'index' | 'total'>): number;
}
