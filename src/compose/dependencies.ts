/**
 * `depends_on` as compose honours it, for both ways a project runs (in the keeper and in this
 * process): each dependency is started first, then waited for — started, healthy, or finished with 0.
 */
import { MayflyError } from '../core/errors.js';
import { Wait, waitUntilReady, type Healthcheck, type WaitTarget } from '../harness/wait/index.js';
import type { ServicePlan } from './service-options.js';

export type Say = (line: string) => void;

/** How long `up` waits for one service to become healthy or finish. */
export const READY_TIMEOUT_MS = 120_000;

export interface Dependencies<T> {
  /** starts a service (once; later calls get the same start) */
  start(plan: ServicePlan): Promise<T>;
  /** what the wait strategies probe */
  target(started: T): WaitTarget;
  /** the service's healthcheck: its own, else its image's */
  healthcheck(plan: ServicePlan, started: T): Healthcheck | undefined;
  say: Say;
}

export async function awaitDependencies<T>(plan: ServicePlan, plans: ServicePlan[], o: Dependencies<T>): Promise<void> {
  for (const d of plan.dependsOn) {
    const depPlan = plans.find((x) => x.service === d.service);
    if (!depPlan) continue; // left out: optional, or --no-deps
    let dep: T;
    try {
      dep = await o.start(depPlan);
    } catch (e) {
      if (d.required) throw e;
      o.say(`warning: service ${plan.service}: its optional dependency ${d.service} failed: ${(e as Error).message}`);
      continue;
    }
    if (d.condition === 'service_started') continue;
    const hc = o.healthcheck(depPlan, dep);
    if (d.condition === 'service_healthy' && !hc) throw new MayflyError('INVALID_OPTION', `service ${plan.service} waits for ${d.service} to be healthy, but ${d.service} has no healthcheck`);
    o.say(`Waiting for ${d.service} to be ${d.condition === 'service_healthy' ? 'healthy' : 'done'}`);
    await waitUntilReady(o.target(dep), d.condition === 'service_healthy' ? Wait.forHealthcheck(hc) : Wait.forOneShotStartup(), { timeoutMs: READY_TIMEOUT_MS, healthcheck: hc });
  }
}
