/** Which wait applies to a started container, local or kept for reuse. */
import type { ImageConfigFile } from '../image/store/image-config.js';
import type { ResolvedHarnessOptions } from './options.js';
import { healthcheckFromImageConfig, Wait, waitUntilReady, type WaitStrategy, type WaitTarget } from './wait/index.js';

type ImageHealthcheck = NonNullable<NonNullable<ImageConfigFile['config']>['Healthcheck']>;

/** The strategy asked for; else the image's HEALTHCHECK (its author knows best), else every published port listening inside, else none. */
export async function readinessWait(
  target: WaitTarget,
  /** the ports it publishes, as asked (a program that exited at once has published nothing, yet is not ready) */
  ports: number[],
  o: ResolvedHarnessOptions,
  imageHealthcheck: ImageHealthcheck | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const healthcheck = healthcheckFromImageConfig(imageHealthcheck);
  const strategy: WaitStrategy = o.wait ?? (healthcheck ? Wait.forHealthcheck() : ports.length ? Wait.forListeningPorts() : Wait.none());
  await waitUntilReady(target, strategy, { timeoutMs: o.startupTimeout, healthcheck, exposedPorts: ports, ...(signal ? { signal } : {}) });
}
