/**
 * `compose up / down / ps` for one project: its containers live in the keeper (like `run -d`), on the
 * project's networks, where each service is reachable by its name. Services start as soon as what
 * they depend on is started, healthy or finished, as `depends_on` says; a stopped container of an
 * unchanged service is started again, a changed one is recreated.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { mayflyHome } from '../core/paths.js';
import { LocalImages } from '../engine/images.js';
import { Runtime } from '../engine/runtime.js';
import { healthcheckFromImageConfig, Wait, waitUntilReady, type Healthcheck } from '../harness/wait/index.js';
import { keeper, KeptHandle, type KeeperConnection } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import { formatPorts } from '../model/addresses.js';
import { layoutOf } from '../model/layout.js';
import { createNetwork, listNetworks, readNetwork, removeNetwork } from '../network/network-store.js';
import { createVolume } from '../runtime/volumes.js';
import type { ComposeProject } from './compose-file.js';
import { awaitDependencies, READY_TIMEOUT_MS, type Say } from './dependencies.js';
import { hooksOf, runHooks } from './lifecycle-hooks.js';
import { removeBuildSecrets, removeProjectFiles, stageBuildSecrets, stageMountedFiles } from './mounted-files.js';
import { enforce } from './service-policy.js';
import { orderServices } from './service-selection.js';
import { networkName, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, servicePlan, volumeName, type ServicePlan } from './service-options.js';

export type { Say } from './dependencies.js';


/** The project's containers the keeper holds (one-off `run` containers only with `oneoff`). */
export async function projectContainers(p: ComposeProject, opts: { keeper?: KeeperConnection; oneoff?: boolean } = {}): Promise<KeptContainer[]> {
  // stopped services are records on disk: the keeper (started if need be) takes them over
  const conn = opts.keeper ?? (await keeper());
  const all = await conn.request<KeptContainer[]>({ op: 'list' });
  return all.filter((c) => c.labels[PROJECT_LABEL] === p.name && (opts.oneoff || c.labels[ONEOFF_LABEL] !== 'true'));
}

// each warning once per command, however many times the project is planned (run plans its dependencies too)
const said = new WeakMap<ComposeProject, Set<string>>();

/** The plans of the services a command runs (and of what they need), dependencies first; refusals thrown, warnings said. */
export function planServices(p: ComposeProject, targets: string[], opts: { noDeps?: boolean; say: Say }): ServicePlan[] {
  const warnings: string[] = [...p.warnings];
  const names = orderServices(p, targets, { ...(opts.noDeps ? { noDeps: true } : {}), warn: (m) => warnings.push(m) });
  warnings.push(...enforce(p, names));
  const plans = names.map((s) => servicePlan(p, s));
  const seen = said.get(p) ?? new Set<string>();
  said.set(p, seen);
  for (const w of [...warnings, ...plans.flatMap((x) => x.warnings)]) {
    if (!seen.has(w)) opts.say(`warning: ${w}`);
    seen.add(w);
  }
  return plans;
}

export interface BuildRequest {
  /** build even when the image is there (`up --build`, `compose build`) */
  always?: boolean;
  /** never build: a missing image is an error (`up --no-build`) */
  never?: boolean;
  noCache?: boolean;
  pull?: boolean;
}

/** Builds the services that say `build:` and need it; returns the image IDs built. */
export async function buildImages(p: ComposeProject, plans: ServicePlan[], req: BuildRequest, say: Say): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const local = new LocalImages();
  const toBuild = plans.filter((s) => {
    if (!s.build) return false;
    const present = local.find(s.build.tag) !== undefined;
    if (req.never) {
      if (!present) throw new MayflyError('IMAGE_NOT_FOUND', `service ${s.service}: image ${s.build.tag} is not built`, { hint: 'run compose build, or up without --no-build' });
      return false;
    }
    return req.always || s.pullPolicy === 'build' || !present;
  });
  if (!toBuild.length) return ids;
  const rt = await Runtime.start({ onWarning: (m) => say(`warning: ${m}`) });
  try {
    for (const s of toBuild) {
      const b = s.build!;
      say(`Building ${s.service} (${b.context}${b.target ? `, stage ${b.target}` : ''})`);
      const secrets = stageBuildSecrets(p, s.service, b.secrets);
      try {
        const record = await rt.build({
          context: b.context,
          tag: [b.tag, ...b.tags],
          buildArgs: b.args,
          labels: b.labels,
          noCache: b.noCache || Boolean(req.noCache),
          pull: b.pull || Boolean(req.pull),
          secrets,
          ...(b.dockerfile ? { dockerfile: b.dockerfile } : {}),
          ...(b.dockerfileText !== undefined ? { dockerfileText: b.dockerfileText } : {}),
          ...(b.target ? { target: b.target } : {}),
          onStep: (e) => say(`  ${s.service} ${e.index}/${e.total} ${e.cached ? 'CACHED ' : ''}${e.text}`),
          onWarning: (m) => say(`warning: service ${s.service}: ${m}`),
        });
        ids.set(s.service, record.id);
      } finally {
        removeBuildSecrets(p, s.service);
      }
    }
  } finally {
    await rt.close();
  }
  return ids;
}

/** The project's networks and named volumes the services use, made when missing (external ones must exist). */
export function ensureNetworksAndVolumes(p: ComposeProject, plans: ServicePlan[]): void {
  const l = layoutOf(mayflyHome());
  const wanted = new Set(plans.flatMap((s) => [s.options.network!, ...(s.options.networks ?? []).map((n) => n.name)]).filter((n) => n !== 'host' && n !== 'none'));
  for (const name of wanted) {
    if (readNetwork(l, name)) continue;
    const entry = Object.entries(p.content.networks ?? {}).find(([n]) => networkName(p, n) === name);
    if (entry?.[1]?.external) throw new MayflyError('NETWORK_NOT_FOUND', `external network ${name} does not exist`, { hint: `mayfly network create ${name}` });
    createNetwork(l, { name, internal: entry?.[1]?.internal ?? false, labels: { [PROJECT_LABEL]: p.name } });
  }
  const external = new Set(Object.entries(p.content.volumes ?? {}).filter(([, d]) => d?.external).map(([v]) => volumeName(p, v)));
  for (const v of new Set(plans.flatMap((s) => (s.options.volumes ?? []).map((x) => x.name)))) {
    if (external.has(v) && !existsSync(join(l.volumes, v))) throw new MayflyError('INVALID_OPTION', `external volume ${v} does not exist`, { hint: `mayfly volume create ${v}` });
    createVolume(l, v);
  }
}

/** The container options with the service's files in place (and its missing bind sources made). */
export function materialize(p: ComposeProject, plan: ServicePlan): ServicePlan['options'] {
  for (const dir of plan.createHostPaths) if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const fileBinds = stageMountedFiles(p, plan.service, plan.files);
  return { ...plan.options, binds: [...(plan.options.binds ?? []), ...fileBinds] };
}

function imageHealthcheck(c: Pick<KeptContainer, 'imageId'>): Healthcheck | undefined {
  return c.imageId ? healthcheckFromImageConfig(new LocalImages().find(c.imageId)?.config.config?.Healthcheck) : undefined;
}

/** The service's healthcheck: its own fields over the image's HEALTHCHECK; none when disabled. */
export function effectiveHealthcheck(plan: ServicePlan, c: Pick<KeptContainer, 'imageId'>): Healthcheck | undefined {
  if (plan.healthcheck?.disabled) return undefined;
  const { disabled: _, ...own } = plan.healthcheck ?? {};
  const merged = { ...imageHealthcheck(c), ...own };
  return merged.test ? (merged as Healthcheck) : undefined;
}

export interface UpOptions {
  services?: string[];
  say: Say;
  build?: BuildRequest;
  forceRecreate?: boolean;
  noDeps?: boolean;
  removeOrphans?: boolean;
  /** return only once every service with a healthcheck is healthy (`up --wait`) */
  wait?: boolean;
}

export interface UpService {
  plan: ServicePlan;
  container: KeptContainer;
  /** false when it was running already and kept as it was */
  started: boolean;
}

/** Starts (or keeps, when unchanged) the services; returns once each is started and every awaited condition holds. */
export async function composeUp(p: ComposeProject, opts: UpOptions): Promise<UpService[]> {
  const { say } = opts;
  const plans = planServices(p, opts.services ?? [], { say, ...(opts.noDeps ? { noDeps: true } : {}) });
  const built = await buildImages(p, plans, opts.build ?? {}, say);
  ensureNetworksAndVolumes(p, plans);
  const k = await keeper();
  const existing = await projectContainers(p, { keeper: k });
  const orphans = existing.filter((c) => !p.content.services[c.labels[SERVICE_LABEL] ?? '']);
  for (const o of orphans) {
    if (opts.removeOrphans) {
      await k.request({ op: 'remove', container: o.id });
      say(`Removed orphan ${o.name}`);
    } else say(`warning: ${o.name} belongs to a service no longer in the project (--remove-orphans removes it)`);
  }
  const local = new LocalImages();
  const started = new Map<string, Promise<UpService & { handle: KeptHandle }>>();
  const start = (plan: ServicePlan): Promise<UpService & { handle: KeptHandle }> => {
    let pending = started.get(plan.service);
    if (pending) return pending;
    pending = (async () => {
      await awaitDependencies(plan, plans, { start, target: (dep) => dep.handle, healthcheck: (depPlan, dep) => effectiveHealthcheck(depPlan, dep.container), say });
      const imageId = built.get(plan.service) ?? local.find(plan.options.image!)?.id ?? '';
      const key = `compose:${p.name}:${plan.service}:${plan.key}:${imageId}`;
      const old = existing.find((c) => c.labels[SERVICE_LABEL] === plan.service);
      if (old && (old.key !== key || opts.forceRecreate)) {
        say(`Recreating ${old.name}`);
        await k.request({ op: 'remove', container: old.id });
      } else if (old && old.status !== 'running' && old.status !== 'paused') {
        const info = await k.request<KeptContainer>({ op: 'start', container: old.id });
        say(`Started ${info.name}${info.ports.length ? `  ${formatPorts(info.ports)}` : ''}`);
        await runHooks(k, info, hooksOf(p, plan.service, 'post_start'), { service: plan.service, kind: 'post_start', strict: true, say });
        return { plan, container: info, started: true, handle: new KeptHandle(k, info) };
      }
      const info = await k.request<KeptContainer>({ op: 'ensure', key, options: materialize(p, plan), detached: true });
      say(`${info.created ? 'Started' : 'Running'} ${info.name}${info.ports.length ? `  ${formatPorts(info.ports)}` : ''}`);
      if (info.created) await runHooks(k, info, hooksOf(p, plan.service, 'post_start'), { service: plan.service, kind: 'post_start', strict: true, say });
      return { plan, container: info, started: info.created, handle: new KeptHandle(k, info) };
    })();
    started.set(plan.service, pending);
    return pending;
  };
  const results = await Promise.allSettled(
    plans.map(async (plan) => {
      const s = await start(plan);
      const hc = opts.wait ? effectiveHealthcheck(plan, s.container) : undefined;
      if (hc) {
        await waitUntilReady(s.handle, Wait.forHealthcheck(hc), { timeoutMs: READY_TIMEOUT_MS, healthcheck: hc });
        say(`Healthy ${s.container.name}`);
      }
      return s;
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => {
    const { handle: _, ...rest } = (r as PromiseFulfilledResult<UpService & { handle: KeptHandle }>).value;
    return rest;
  });
}

/** Removes the project's containers (one-off ones too), the networks it made, its mounted-file copies; with `volumes`, its named volumes. */
export async function composeDown(p: ComposeProject, opts: { volumes?: boolean; removeOrphans?: boolean; say: Say }): Promise<void> {
  const k = await keeper();
  for (const c of await projectContainers(p, { oneoff: true, keeper: k })) {
    const service = c.labels[SERVICE_LABEL] ?? '';
    if (c.status === 'running' && c.labels[ONEOFF_LABEL] !== 'true') await runHooks(k, c, hooksOf(p, service, 'pre_stop'), { service, kind: 'pre_stop', strict: false, say: opts.say });
    await k.request({ op: 'remove', container: c.id });
    opts.say(`Removed ${c.name}`);
  }
  const l = layoutOf(mayflyHome());
  for (const n of listNetworks(l).filter((x) => x.labels[PROJECT_LABEL] === p.name)) {
    removeNetwork(l, n.name, { force: true });
    opts.say(`Removed network ${n.name}`);
  }
  removeProjectFiles(p);
  if (!opts.volumes) return;
  const names = Object.entries(p.content.volumes ?? {})
    .filter(([, d]) => !d?.external)
    .map(([v]) => volumeName(p, v));
  if (!names.length) return;
  const rt = await Runtime.start({ onWarning: () => {} });
  try {
    const present = new Set(rt.volumes().map((v) => v.name));
    const removed = await rt.removeVolumes(names.filter((n) => present.has(n)));
    for (const v of removed) opts.say(`Removed volume ${v}`);
  } finally {
    await rt.close();
  }
}
