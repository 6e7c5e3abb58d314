/**
 * Which services a command runs, and in what order: services without `profiles` are always on, the
 * others when one of their profiles is active (--profile, COMPOSE_PROFILES; `*` is every one); a
 * service named on the command line is on whatever its profiles, and so is what it depends on.
 * Dependencies come from `depends_on`, `links` and `volumes_from`; they start first.
 */
import { MayflyError } from '../core/errors.js';
import type { ComposeService } from './compose-schema.js';
import type { ComposeProject } from './compose-file.js';

export type Condition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface Dependency {
  service: string;
  condition: Condition;
  /** false: started when it can be, skipped when it is not in the project */
  required: boolean;
  /** restarting the dependency restarts this service too */
  restart: boolean;
}

export function dependenciesOf(def: ComposeService): Dependency[] {
  const out = new Map<string, Dependency>();
  const add = (d: Dependency) => out.has(d.service) || out.set(d.service, d);
  if (Array.isArray(def.depends_on)) for (const s of def.depends_on) add({ service: s, condition: 'service_started', required: true, restart: false });
  else for (const [s, v] of Object.entries(def.depends_on ?? {})) add({ service: s, condition: v.condition, required: v.required, restart: v.restart });
  for (const l of def.links ?? []) add({ service: l.split(':')[0]!, condition: 'service_started', required: true, restart: false });
  for (const v of def.volumes_from ?? []) {
    if (!v.startsWith('container:')) add({ service: v.split(':')[0]!, condition: 'service_started', required: true, restart: false });
  }
  return [...out.values()];
}

function profileActive(p: ComposeProject, def: ComposeService): boolean {
  return !def.profiles?.length || def.profiles.some((x) => p.profiles.includes(x) || p.profiles.includes('*'));
}

/** The services of the project that are on, given the services named on the command line. */
export function enabledServices(p: ComposeProject, targets: string[] = []): Set<string> {
  const all = p.content.services;
  for (const t of targets) {
    if (!all[t]) throw new MayflyError('INVALID_OPTION', `no service ${t} in this project (services: ${Object.keys(all).join(', ') || 'none'})`);
  }
  const on = new Set(Object.keys(all).filter((s) => profileActive(p, all[s]!)));
  // a named service is on, and so is everything it depends on, whatever their profiles
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    on.add(s);
    for (const d of dependenciesOf(all[s]!)) if (all[d.service]) stack.push(d.service);
  }
  return on;
}

/**
 * `targets` (default: every service that is on) and what they depend on, dependencies first. A
 * required dependency that is missing or off is an error naming it; an optional one is left out.
 */
export function orderServices(p: ComposeProject, targets: string[] = [], opts: { noDeps?: boolean; warn?: (m: string) => void } = {}): string[] {
  const all = p.content.services;
  const on = enabledServices(p, targets);
  const roots = targets.length ? targets : Object.keys(all).filter((s) => on.has(s) && replicas(all[s]!) > 0);
  const picked: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (path.includes(name)) throw new MayflyError('INVALID_OPTION', `depends_on cycle: ${[...path, name].join(' → ')}`);
    if (picked.includes(name)) return;
    if (!opts.noDeps || path.length === 0) {
      for (const d of dependenciesOf(all[name]!)) {
        const why = !all[d.service] ? 'which is not defined' : !on.has(d.service) ? `which is only in profile ${all[d.service]!.profiles!.join(', ')}` : undefined;
        if (why) {
          if (d.required) throw new MayflyError('INVALID_OPTION', `service ${name} depends on ${d.service}, ${why}`, { hint: all[d.service] ? `enable it: --profile ${all[d.service]!.profiles![0]}` : 'define it, or mark the dependency `required: false`' });
          opts.warn?.(`service ${name}: its optional dependency ${d.service} is left out (${why.replace('which ', '')})`);
          continue;
        }
        visit(d.service, [...path, name]);
      }
    }
    picked.push(name);
  };
  for (const s of roots) visit(s, []);
  return picked;
}

/** `scale` / `deploy.replicas`: 0 keeps a service from starting with `up`. */
export function replicas(def: ComposeService): number {
  return def.deploy?.replicas ?? def.scale ?? 1;
}
