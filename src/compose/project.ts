/**
 * `compose up / down / ps / logs` for one project: its containers live in the keeper (like `run -d`),
 * on the project's networks, where each service is reachable by its name. Services start as soon as
 * what they depend on is started, healthy or finished, as `depends_on` says.
 */
import { MayflyError } from '../errors.js';
import { Wait, waitUntilReady, healthcheckFromImageConfig, type Healthcheck } from '../harness/wait/index.js';
import { ImageStore } from '../image/store/image-store.js';
import { existingKeeper, keeper, KeptHandle, type KeeperConnection } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import { createNetwork, listNetworks, readNetwork, removeNetwork } from '../network/network-store.js';
import { mayflyHome } from '../paths.js';
import { Runtime } from '../runtime/runtime.js';
import { formatPorts } from '../runtime/addresses.js';
import { layoutOf } from '../runtime/state.js';
import { createVolume } from '../runtime/volumes.js';
import type { ComposeProject } from './compose-file.js';
import { networkName, PROJECT_LABEL, SERVICE_LABEL, servicePlan, volumeName, type ServicePlan } from './service-options.js';

export type Say = (line: string) => void;

const READY_TIMEOUT_MS = 120_000;

export async function projectContainers(p: ComposeProject, k?: KeeperConnection): Promise<KeptContainer[]> {
  const conn = k ?? (await existingKeeper());
  if (!conn) return [];
  const all = await conn.request<KeptContainer[]>({ op: 'list' });
  return all.filter((c) => c.labels[PROJECT_LABEL] === p.name);
}

/** Builds the services that say `build:` (in this process's sandbox; the image lands in the shared store). */
async function buildImages(p: ComposeProject, plans: ServicePlan[], say: Say): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const toBuild = plans.filter((s) => s.builtImage);
  if (!toBuild.length) return ids;
  const rt = await Runtime.start({ onWarning: (m) => say(`warning: ${m}`) });
  try {
    for (const s of toBuild) {
      const b = s.builtImage!;
      say(`Building ${s.service} (${b.context})`);
      const record = await rt.build({
        context: b.context,
        tag: b.tag,
        buildArgs: b.args,
        ...(b.dockerfile ? { dockerfile: b.dockerfile } : {}),
        onStep: (e) => say(`  ${s.service} ${e.index}/${e.total} ${e.cached ? 'CACHED ' : ''}${e.text}`),
      });
      ids.set(s.service, record.id);
    }
  } finally {
    await rt.close();
  }
  return ids;
}

function ensureNetworksAndVolumes(p: ComposeProject, plans: ServicePlan[]): void {
  const l = layoutOf(mayflyHome());
  const wanted = new Set(plans.flatMap((s) => [s.options.network!, ...(s.options.networks ?? []).map((n) => n.name)]));
  for (const name of wanted) {
    if (readNetwork(l, name)) continue;
    const external = Object.entries(p.content.networks ?? {}).find(([n, d]) => networkName(p, n) === name && d?.external);
    if (external) throw new MayflyError('NETWORK_NOT_FOUND', `external network ${name} does not exist`, { hint: `mayfly network create ${name}` });
    const def = Object.entries(p.content.networks ?? {}).find(([n]) => networkName(p, n) === name)?.[1];
    createNetwork(l, { name, internal: def?.internal ?? false, labels: { [PROJECT_LABEL]: p.name } });
  }
  for (const v of new Set(plans.flatMap((s) => (s.options.volumes ?? []).map((x) => x.name)))) createVolume(l, v);
}

function order(plans: ServicePlan[], only?: string[]): ServicePlan[] {
  const byName = new Map(plans.map((s) => [s.service, s]));
  const picked = new Set<string>();
  const visit = (name: string, path: string[]) => {
    if (path.includes(name)) throw new MayflyError('INVALID_OPTION', `depends_on cycle: ${[...path, name].join(' → ')}`);
    if (picked.has(name)) return;
    for (const d of byName.get(name)!.dependsOn) visit(d.service, [...path, name]);
    picked.add(name);
  };
  for (const s of only?.length ? only : plans.map((x) => x.service)) {
    if (!byName.has(s)) throw new MayflyError('INVALID_OPTION', `no service ${s} in this project (services: ${[...byName.keys()].join(', ')})`);
    visit(s, []);
  }
  return [...picked].map((n) => byName.get(n)!);
}

function imageHealthcheck(c: KeptContainer): Healthcheck | undefined {
  return c.imageId ? healthcheckFromImageConfig(new ImageStore(mayflyHome()).read(c.imageId)?.config.config?.Healthcheck) : undefined;
}

/** Starts (or keeps, when unchanged) the project's services; returns once each is started and every awaited condition holds. */
export async function composeUp(p: ComposeProject, opts: { services?: string[]; say: Say }): Promise<KeptContainer[]> {
  const { say } = opts;
  for (const w of p.warnings) say(`warning: ${w}`);
  const plans = order(
    Object.keys(p.content.services).map((s) => servicePlan(p, s)),
    opts.services,
  );
  const built = await buildImages(p, plans, say);
  ensureNetworksAndVolumes(p, plans);
  const k = await keeper();
  const existing = await projectContainers(p, k);
  const started = new Map<string, Promise<{ info: KeptContainer; handle: KeptHandle; plan: ServicePlan }>>();
  const start = (plan: ServicePlan) => {
    let pending = started.get(plan.service);
    if (pending) return pending;
    pending = (async () => {
      for (const d of plan.dependsOn) {
        const dep = await start(plans.find((x) => x.service === d.service)!);
        if (d.condition === 'service_started') continue;
        const hc = dep.plan.healthcheck ?? imageHealthcheck(dep.info);
        if (d.condition === 'service_healthy' && !hc) throw new MayflyError('INVALID_OPTION', `service ${plan.service} waits for ${d.service} to be healthy, but ${d.service} has no healthcheck`);
        say(`Waiting for ${d.service} to be ${d.condition === 'service_healthy' ? 'healthy' : 'done'}`);
        await waitUntilReady(dep.handle, d.condition === 'service_healthy' ? Wait.forHealthcheck(hc) : Wait.forOneShotStartup(), { timeoutMs: READY_TIMEOUT_MS, healthcheck: hc });
      }
      const key = `compose:${p.name}:${plan.service}:${plan.key}:${built.get(plan.service) ?? ''}`;
      const old = existing.find((c) => c.labels[SERVICE_LABEL] === plan.service);
      if (old && old.key !== key) {
        say(`Recreating ${old.name}`);
        await k.request({ op: 'remove', container: old.id });
      }
      const info = await k.request<KeptContainer>({ op: 'ensure', key, options: plan.options, detached: true });
      say(`${info.created ? 'Started' : 'Running'} ${info.name}${info.ports.length ? `  ${formatPorts(info.ports)}` : ''}`);
      return { info, handle: new KeptHandle(k, info), plan };
    })();
    started.set(plan.service, pending);
    return pending;
  };
  const results = await Promise.allSettled(plans.map(start));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<{ info: KeptContainer }>).value.info);
}

/** Removes the project's containers and the networks it made; with `volumes`, its named volumes too. */
export async function composeDown(p: ComposeProject, opts: { volumes?: boolean; say: Say }): Promise<void> {
  const k = await existingKeeper();
  for (const c of await projectContainers(p, k)) {
    await k!.request({ op: 'remove', container: c.id });
    opts.say(`Removed ${c.name}`);
  }
  const l = layoutOf(mayflyHome());
  for (const n of listNetworks(l).filter((x) => x.labels[PROJECT_LABEL] === p.name)) {
    removeNetwork(l, n.name, { force: true });
    opts.say(`Removed network ${n.name}`);
  }
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
