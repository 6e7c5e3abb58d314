/**
 * A compose project in this process's own runtime rather than the keeper: its containers and
 * networks end with the process, however it ends — what a test suite wants (Testcontainers'
 * DockerComposeEnvironment, whose reaper removes the project at the end). The project is read,
 * planned, built and materialised as `compose up` does it (project.ts); only where the containers
 * live differs, and so the start loop is this module's own. Named volumes stay until `down`.
 */
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import type { Runtime } from '../engine/runtime.js';
import type { Container } from '../runtime/container.js';
import type { ComposeProject } from './compose-file.js';
import { awaitDependencies } from './dependencies.js';
import { hooksOf, type Hook } from './lifecycle-hooks.js';
import { removeProjectFiles } from './mounted-files.js';
import { buildImages, effectiveHealthcheck, materialize, planServices, type Say } from './project.js';
import { networkName, PROJECT_LABEL, volumeName, type ServicePlan } from './service-options.js';


export interface LocalService {
  plan: ServicePlan;
  container: Container & { stagingDir: string };
}

export interface LocalProject {
  services: Map<string, LocalService>;
  /** the networks this up made (removed by down) */
  networks: string[];
}

export async function composeUpLocal(p: ComposeProject, rt: Runtime, opts: { services?: string[]; build?: boolean; pullAlways?: boolean; say: Say }): Promise<LocalProject> {
  const { say } = opts;
  const plans = planServices(p, opts.services ?? [], { say });
  await buildImages(p, plans, { ...(opts.build ? { always: true } : {}) }, say);
  const networks = ensureNetworks(p, plans, rt);
  const running: Container[] = [];
  const stagingDir = join(rt.info.runDir, 'staging');
  try {
    ensureVolumes(p, plans, rt);
    for (const plan of plans) {
      if (!plan.build && plan.options.image && (opts.pullAlways || plan.pullPolicy === 'always')) await rt.pull(plan.options.image);
    }
    const started = new Map<string, Promise<Container>>();
    const start = (plan: ServicePlan): Promise<Container> => {
      let pending = started.get(plan.service);
      if (!pending) {
        pending = (async () => {
          await awaitDependencies(plan, plans, { start, target: (dep) => dep, healthcheck: (depPlan, dep) => effectiveHealthcheck(depPlan, { imageId: dep.spec.labels['mayfly.image.id'] }), say });
          const c = await rt.run(materialize(p, plan));
          running.push(c);
          say(`Started ${c.name}`);
          await runHooks(c, hooksOf(p, plan.service, 'post_start'), plan.service, 'post_start', say);
          return c;
        })();
        started.set(plan.service, pending);
      }
      return pending;
    };
    const results = await Promise.allSettled(plans.map(start));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const services = new Map<string, LocalService>();
    for (const plan of plans) services.set(plan.service, { plan, container: Object.assign(await started.get(plan.service)!, { stagingDir }) });
    return { services, networks };
  } catch (e) {
    await Promise.allSettled(running.map((c) => c.remove({ force: true })));
    removeNetworks(rt, networks);
    removeProjectFiles(p);
    throw e;
  }
}

/** post_start (a failure fails the start) and pre_stop (a failure is said, the stop goes on), as compose runs them. */
async function runHooks(c: Container, hooks: Hook[], service: string, kind: 'post_start' | 'pre_stop', say: Say): Promise<void> {
  for (const [i, h] of hooks.entries()) {
    let failure: string | undefined;
    try {
      const r = await c.exec(h.argv, { env: h.env, ...(h.user ? { user: h.user } : {}), ...(h.workingDir ? { workingDir: h.workingDir } : {}) });
      if (r.exitCode !== 0) failure = `exited with ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`;
    } catch (e) {
      failure = (e as Error).message.split('\n')[0];
    }
    if (!failure) continue;
    const message = `service ${service}: ${kind}[${i}] (${h.argv.join(' ')}) ${failure}`;
    if (kind === 'post_start') throw new MayflyError('EXEC_FAILED', message);
    say(`warning: ${message}`);
  }
}

/** Removes the containers (after their pre_stop hooks) and the networks of an up, its mounted-file copies; with `volumes`, the project's named volumes. */
export async function composeDownLocal(p: ComposeProject, rt: Runtime, project: LocalProject, opts: { volumes: boolean; say: Say }): Promise<void> {
  await Promise.allSettled(
    [...project.services.values()].map(async ({ plan, container }) => {
      if (container.status === 'running') await runHooks(container, hooksOf(p, plan.service, 'pre_stop'), plan.service, 'pre_stop', opts.say);
      await container.remove({ force: true });
    }),
  );
  removeNetworks(rt, project.networks);
  removeProjectFiles(p);
  if (!opts.volumes) return;
  const names = Object.entries(p.content.volumes ?? {})
    .filter(([, d]) => !d?.external)
    .map(([v]) => volumeName(p, v));
  const present = new Set(rt.volumes().map((v) => v.name));
  await rt.removeVolumes(names.filter((n) => present.has(n)));
}

/** The project's networks: external ones must exist; the others are made here, ephemeral (they go with this process). */
function ensureNetworks(p: ComposeProject, plans: ServicePlan[], rt: Runtime): string[] {
  const existing = new Set(rt.networks().map((n) => n.name));
  const made: string[] = [];
  const wanted = new Set(plans.flatMap((s) => [s.options.network!, ...(s.options.networks ?? []).map((n) => n.name)]).filter((n) => n !== 'host' && n !== 'none'));
  try {
    for (const name of wanted) {
      if (existing.has(name)) continue;
      const entry = Object.entries(p.content.networks ?? {}).find(([n]) => networkName(p, n) === name);
      if (entry?.[1]?.external) throw new MayflyError('NETWORK_NOT_FOUND', `external network ${name} does not exist`, { hint: `mayfly network create ${name}` });
      rt.createNetwork({ name, internal: entry?.[1]?.internal ?? false, labels: { [PROJECT_LABEL]: p.name }, ephemeral: true });
      made.push(name);
    }
  } catch (e) {
    removeNetworks(rt, made);
    throw e;
  }
  return made;
}

function ensureVolumes(p: ComposeProject, plans: ServicePlan[], rt: Runtime): void {
  const external = new Set(Object.entries(p.content.volumes ?? {}).filter(([, d]) => d?.external).map(([v]) => volumeName(p, v)));
  const present = new Set(rt.volumes().map((v) => v.name));
  for (const v of new Set(plans.flatMap((s) => (s.options.volumes ?? []).map((x) => x.name)))) {
    if (present.has(v)) continue;
    if (external.has(v)) throw new MayflyError('INVALID_OPTION', `external volume ${v} does not exist`, { hint: `mayfly volume create ${v}` });
    rt.createVolume(v);
  }
}

function removeNetworks(rt: Runtime, names: string[]): void {
  for (const n of names) {
    try {
      rt.removeNetwork(n, { force: true });
    } catch {
      // gone already
    }
  }
}
