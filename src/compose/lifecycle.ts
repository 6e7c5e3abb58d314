/**
 * `compose stop / start / restart / kill` and the lookups `exec` and `port` need: the services'
 * containers, driven through the keeper. Stops go in reverse dependency order (a service before
 * what it depends on), starts in dependency order.
 */
import { MayflyError } from '../core/errors.js';
import { existingKeeper, type KeeperConnection } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import type { ExecResult } from '../model/container-types.js';
import type { ComposeProject } from './compose-file.js';
import { hooksOf, runHooks } from './lifecycle-hooks.js';
import { projectContainers, type Say } from './project.js';
import { SERVICE_LABEL } from './service-options.js';
import { dependenciesOf, enabledServices } from './service-selection.js';

async function connected(p: ComposeProject): Promise<KeeperConnection> {
  const k = await existingKeeper();
  if (!k) throw new MayflyError('CONTAINER_NOT_FOUND', `no containers of project ${p.name}: mayfly compose up first`);
  return k;
}

/** Services in dependency order (what a service depends on first), limited to `names` when given. */
function dependencyOrder(p: ComposeProject, names: string[]): string[] {
  const out: string[] = [];
  const visit = (s: string, path: string[]) => {
    if (out.includes(s) || path.includes(s) || !p.content.services[s]) return;
    for (const d of dependenciesOf(p.content.services[s]!)) visit(d.service, [...path, s]);
    out.push(s);
  };
  for (const s of Object.keys(p.content.services)) visit(s, []);
  return names.length ? out.filter((s) => names.includes(s)) : out;
}

function checkNames(p: ComposeProject, names: string[]): void {
  for (const n of names) if (!p.content.services[n]) throw new MayflyError('INVALID_OPTION', `no service ${n} in this project (services: ${Object.keys(p.content.services).join(', ')})`);
}

/** The service containers of `names` (all when empty), in dependency order. */
async function containersOf(p: ComposeProject, k: KeeperConnection, names: string[]): Promise<KeptContainer[]> {
  checkNames(p, names);
  const all = await projectContainers(p, { keeper: k });
  return dependencyOrder(p, names).flatMap((s) => all.filter((c) => c.labels[SERVICE_LABEL] === s));
}

export async function composeStop(p: ComposeProject, opts: { services: string[]; timeout?: number; say: Say }): Promise<void> {
  const k = await connected(p);
  for (const c of (await containersOf(p, k, opts.services)).reverse()) {
    if (c.status !== 'running' && c.status !== 'paused') continue;
    await preStop(p, k, c, opts.say);
    await k.request({ op: 'stop', container: c.id, ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) });
    opts.say(`Stopped ${c.name}`);
  }
}

export async function composeStart(p: ComposeProject, opts: { services: string[]; say: Say }): Promise<void> {
  const k = await connected(p);
  const cs = await containersOf(p, k, opts.services);
  if (!cs.length) throw new MayflyError('CONTAINER_NOT_FOUND', `no containers of project ${p.name}${opts.services.length ? ` for ${opts.services.join(', ')}` : ''} to start: mayfly compose up creates them`);
  for (const c of cs) {
    if (c.status === 'running' || c.status === 'paused') continue;
    const info = await k.request<KeptContainer>({ op: 'start', container: c.id });
    opts.say(`Started ${c.name}`);
    await postStart(p, k, info, opts.say);
  }
}

/** Restarts the services; those that depend on a restarted one with `restart: true` are restarted after it. */
export async function composeRestart(p: ComposeProject, opts: { services: string[]; timeout?: number; noDeps?: boolean; say: Say }): Promise<void> {
  const k = await connected(p);
  checkNames(p, opts.services);
  const chosen = new Set(opts.services.length ? opts.services : Object.keys(p.content.services));
  if (!opts.noDeps) {
    // dependents that asked for it follow their dependency, transitively
    const on = enabledServices(p);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [s, def] of Object.entries(p.content.services)) {
        if (chosen.has(s) || !on.has(s)) continue;
        if (dependenciesOf(def).some((d) => d.restart && chosen.has(d.service))) {
          chosen.add(s);
          grew = true;
        }
      }
    }
  }
  for (const c of await containersOf(p, k, [...chosen])) {
    if (c.status === 'running') await preStop(p, k, c, opts.say);
    const info = await k.request<KeptContainer>({ op: 'restart', container: c.id, ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) });
    opts.say(`Restarted ${c.name}`);
    await postStart(p, k, info, opts.say);
  }
}

export async function composeKill(p: ComposeProject, opts: { services: string[]; signal: string; say: Say }): Promise<void> {
  const k = await connected(p);
  for (const c of await containersOf(p, k, opts.services)) {
    if (c.status !== 'running' && c.status !== 'paused') continue;
    await k.request({ op: 'kill', container: c.id, signal: opts.signal });
    opts.say(`Killed ${c.name}`);
  }
}

/** The service's pre_stop hooks, before compose stops its container (a failure is said, the stop goes on). */
export function preStop(p: ComposeProject, k: KeeperConnection, c: KeptContainer, say: Say): Promise<void> {
  const service = c.labels[SERVICE_LABEL] ?? '';
  return runHooks(k, c, hooksOf(p, service, 'pre_stop'), { service, kind: 'pre_stop', strict: false, say });
}

function postStart(p: ComposeProject, k: KeeperConnection, c: KeptContainer, say: Say): Promise<void> {
  const service = c.labels[SERVICE_LABEL] ?? '';
  return runHooks(k, c, hooksOf(p, service, 'post_start'), { service, kind: 'post_start', strict: true, say });
}

/** The running container of a service (`compose exec`, `compose port`). */
export async function serviceContainer(p: ComposeProject, service: string): Promise<{ keeper: KeeperConnection; container: KeptContainer }> {
  checkNames(p, [service]);
  const k = await connected(p);
  const c = (await projectContainers(p, { keeper: k })).find((x) => x.labels[SERVICE_LABEL] === service);
  if (!c) throw new MayflyError('CONTAINER_NOT_FOUND', `service ${service} has no container: mayfly compose up ${service} first`);
  return { keeper: k, container: c };
}

export async function composeExec(p: ComposeProject, service: string, argv: string[], opts: { env?: Record<string, string>; user?: string; workingDir?: string } = {}): Promise<ExecResult> {
  if (!argv.length) throw new MayflyError('INVALID_OPTION', 'compose exec needs a command: mayfly compose exec SERVICE COMMAND [ARG...]');
  const { keeper: k, container: c } = await serviceContainer(p, service);
  if (c.status !== 'running') throw new MayflyError('CONTAINER_STATE', `service ${service}'s container ${c.name} is not running (${c.status})`, { hint: `mayfly compose start ${service}` });
  return k.request<ExecResult>({ op: 'exec', container: c.id, argv, ...(opts.env ? { env: opts.env } : {}), ...(opts.user ? { user: opts.user } : {}), ...(opts.workingDir ? { workingDir: opts.workingDir } : {}) });
}

/** `compose port SERVICE PORT`: the host address a container port is published on. */
export async function composePort(p: ComposeProject, service: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<string> {
  const { container: c } = await serviceContainer(p, service);
  const found = c.ports.find((x) => x.containerPort === port && x.protocol === protocol);
  if (!found) throw new MayflyError('INVALID_OPTION', `service ${service} does not publish ${port}/${protocol}`, { hint: c.ports.length ? `it publishes ${c.ports.map((x) => `${x.containerPort}/${x.protocol}`).join(', ')}` : 'it publishes no ports' });
  return `${found.hostIp.includes(':') ? `[${found.hostIp}]` : found.hostIp}:${found.hostPort}`;
}
