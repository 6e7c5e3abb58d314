/**
 * The Compose Specification's merge rules, used for `extends` and for several files (`-f a -f b`,
 * compose.override.yaml): mappings merge key by key; `command`, `entrypoint` and `healthcheck.test`
 * are replaced; `environment`, `labels`, `depends_on`, `networks` (and the other KEY=VALUE lists)
 * merge as mappings; `volumes`, `secrets` and `configs` are unique by their mount target, the later
 * one winning; other sequences are appended, without duplicates. `!reset` drops a key, `!override`
 * replaces instead of merging.
 */
import { isMapping, Override, RESET } from './yaml-document.js';

type Mapping = Record<string, unknown>;

const REPLACED = new Set(['command', 'entrypoint']);
const AS_MAPPING = new Set(['environment', 'labels', 'annotations', 'sysctls', 'extra_hosts', 'depends_on', 'networks']);
const BY_TARGET = new Set(['volumes', 'secrets', 'configs', 'devices']);

export function mergeService(base: Mapping, over: Mapping): Mapping {
  const out: Mapping = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === RESET) {
      delete out[key];
      continue;
    }
    if (value instanceof Override || out[key] === undefined) {
      out[key] = value;
      continue;
    }
    const prev = out[key];
    if (REPLACED.has(key)) out[key] = value;
    else if (AS_MAPPING.has(key)) out[key] = mergeValue(asMapping(key, prev), asMapping(key, value));
    else if (BY_TARGET.has(key) && Array.isArray(prev) && Array.isArray(value)) out[key] = uniqueByTarget(key, prev, value);
    else if (key === 'build') out[key] = mergeValue(asBuild(prev), asBuild(value), (k, a, b) => (k === 'args' || k === 'labels' ? mergeValue(asMapping('args', a), asMapping('args', b)) : undefined));
    else if (key === 'healthcheck') out[key] = mergeValue(prev, value, (k, _a, b) => (k === 'test' ? b : undefined));
    else out[key] = mergeValue(prev, value);
  }
  return out;
}

/** A whole file over another: services merge as services, the other resources key by key. */
export function mergeFiles(base: Mapping, over: Mapping): Mapping {
  const out: Mapping = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    if (key === 'services' && isMapping(prev) && isMapping(value)) {
      const services: Mapping = { ...prev };
      for (const [name, def] of Object.entries(value)) {
        if (def === RESET) delete services[name];
        else services[name] = isMapping(services[name]) && isMapping(def) ? mergeService(services[name] as Mapping, def) : def;
      }
      out.services = services;
    } else out[key] = prev === undefined ? value : mergeValue(prev, value);
  }
  return out;
}

/** The generic rule; `special` may decide a nested key (undefined: the generic rule). */
function mergeValue(a: unknown, b: unknown, special?: (key: string, a: unknown, b: unknown) => unknown): unknown {
  if (b === RESET) return undefined;
  if (b instanceof Override) return b.value;
  if (isMapping(a) && isMapping(b)) {
    const out: Mapping = { ...a };
    for (const [k, v] of Object.entries(b)) {
      if (v === RESET) {
        delete out[k];
        continue;
      }
      const decided = special && out[k] !== undefined ? special(k, out[k], v) : undefined;
      out[k] = decided !== undefined ? decided : out[k] === undefined ? v : mergeValue(out[k], v);
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const seen = new Set(a.map((x) => JSON.stringify(x)));
    return [...a, ...b.filter((x) => !seen.has(JSON.stringify(x)))];
  }
  return b;
}

/** `KEY=VALUE` lists as mappings (a bare `KEY` maps to null); `depends_on` and `networks` lists as mappings. */
function asMapping(key: string, v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  if (key === 'depends_on') return Object.fromEntries(v.map((s) => [String(s), { condition: 'service_started' }]));
  if (key === 'networks') return Object.fromEntries(v.map((s) => [String(s), null]));
  return Object.fromEntries(
    v.map((kv) => {
      const s = String(kv);
      const i = key === 'extra_hosts' ? s.search(/[=:]/) : s.indexOf('=');
      return i < 0 ? [s, null] : [s.slice(0, i), s.slice(i + 1)];
    }),
  );
}

function asBuild(v: unknown): unknown {
  return typeof v === 'string' ? { context: v } : v;
}

function uniqueByTarget(key: string, a: unknown[], b: unknown[]): unknown[] {
  const targets = new Set(b.map((x) => mountTarget(key, x)));
  return [...a.filter((x) => !targets.has(mountTarget(key, x))), ...b];
}

/** Where a volume, secret, config or device entry lands in the container (its identity when merging). */
export function mountTarget(key: string, entry: unknown): string {
  if (isMapping(entry)) {
    const target = entry.target ?? entry.source;
    return key === 'secrets' && typeof target === 'string' && !target.startsWith('/') ? `/run/secrets/${target}` : String(target);
  }
  const s = String(entry);
  if (key === 'secrets') return `/run/secrets/${s}`;
  if (key === 'configs') return `/${s}`;
  const parts = s.split(':');
  return parts.length === 1 ? parts[0]! : parts[1]!;
}
