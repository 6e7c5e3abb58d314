/**
 * `reuse: true`: the container lives in the keeper (src/keeper), found again by a hash of its
 * options, so a watch-mode rerun or the next `npm test` gets it back at once instead of starting it.
 */
import { createHash } from 'node:crypto';
import { stableJson } from '../core/stable-json.js';
import { LocalImages } from '../engine/images.js';
import { keeper, KeptHandle, stopKeeper } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import { toContainerOptions, type ResolvedHarnessOptions } from './options.js';
import { readinessWait } from './readiness.js';
import { StartedContainer } from './started-container.js';

/** Everything that makes a container what it is; not how long to wait for it or how. */
export function reuseKey(o: ResolvedHarnessOptions): string {
  const { wait: _w, startupTimeout: _t, reuse: _r, ...identity } = o;
  return createHash('sha256').update(stableJson(identity)).digest('hex').slice(0, 32);
}


export async function startReused(o: ResolvedHarnessOptions, signal?: AbortSignal, onRunning?: (c: KeptHandle) => void | Promise<void>): Promise<StartedContainer> {
  const k = await keeper();
  const info = await k.request<KeptContainer>({ op: 'ensure', key: reuseKey(o), options: toContainerOptions(o) });
  const handle = new KeptHandle(k, info);
  try {
    await onRunning?.(handle);
    const healthcheck = info.imageId ? new LocalImages().find(info.imageId)?.config.config?.Healthcheck : undefined;
    await readinessWait(handle, info.ports.filter((p) => p.protocol === 'tcp').map((p) => p.containerPort), o, healthcheck, signal);
  } catch (e) {
    if (info.created) await handle.remove().catch(() => {}); // never keep one that did not become ready
    throw e;
  }
  return new StartedContainer(handle, true);
}

/** Ends every reused container of this MAYFLY_HOME now (e.g. at the end of a CI run). */
export function stopReusedContainers(): Promise<void> {
  return stopKeeper();
}
