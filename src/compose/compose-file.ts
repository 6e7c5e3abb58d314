/**
 * A compose file (the docker-compose.yml subset test and dev setups use), read and validated: a
 * key mayfly does not know is an error naming the service and the key, not a silent difference.
 * Keys that only matter to a long-running daemon (restart, logging, deploy) are accepted with a
 * warning.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MayflyError } from '../errors.js';
import { splitWords } from '../image/build/dockerfile.js';
import { parseWith } from '../runtime/spec.js';

const stringList = z.union([z.string(), z.array(z.string())]);
const envMap = z.union([z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])), z.array(z.string())]);
const duration = z.union([z.string(), z.number()]);

const IGNORED = ['restart', 'logging', 'deploy', 'tty', 'stdin_open', 'platform', 'pull_policy'] as const;

const serviceSchema = z.strictObject({
  image: z.string().optional(),
  build: z.union([z.string(), z.strictObject({ context: z.string().default('.'), dockerfile: z.string().optional(), args: envMap.optional() })]).optional(),
  command: stringList.optional(),
  entrypoint: stringList.optional(),
  environment: envMap.optional(),
  env_file: stringList.optional(),
  ports: z.array(z.union([z.string(), z.number(), z.strictObject({ target: z.number(), published: z.union([z.number(), z.string()]).optional(), host_ip: z.string().optional(), protocol: z.enum(['tcp', 'udp']).optional() })])).optional(),
  expose: z.array(z.union([z.string(), z.number()])).optional(),
  volumes: z.array(z.union([z.string(), z.strictObject({ type: z.enum(['bind', 'volume', 'tmpfs']), source: z.string().optional(), target: z.string(), read_only: z.boolean().optional() })])).optional(),
  tmpfs: stringList.optional(),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.strictObject({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']).default('service_started') }))]).optional(),
  networks: z.union([z.array(z.string()), z.record(z.string(), z.union([z.null(), z.strictObject({ aliases: z.array(z.string()).optional() })]))]).optional(),
  healthcheck: z
    .strictObject({
      test: stringList.optional(),
      interval: duration.optional(),
      timeout: duration.optional(),
      retries: z.number().int().optional(),
      start_period: duration.optional(),
      disable: z.boolean().optional(),
    })
    .optional(),
  working_dir: z.string().optional(),
  user: z.union([z.string(), z.number()]).optional(),
  hostname: z.string().optional(),
  container_name: z.string().optional(),
  init: z.boolean().optional(),
  stop_signal: z.string().optional(),
  stop_grace_period: duration.optional(),
  labels: envMap.optional(),
  mem_limit: z.union([z.string(), z.number()]).optional(),
  cpus: z.union([z.string(), z.number()]).optional(),
  pids_limit: z.number().int().optional(),
  ...Object.fromEntries(IGNORED.map((k) => [k, z.unknown().optional()])),
});

const fileSchema = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  name: z.string().optional(),
  services: z.record(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'service names use letters, digits, _ . -'), serviceSchema),
  networks: z.record(z.string(), z.union([z.null(), z.strictObject({ external: z.boolean().optional(), internal: z.boolean().optional(), name: z.string().optional(), driver: z.string().optional() })])).optional(),
  volumes: z.record(z.string(), z.union([z.null(), z.strictObject({ external: z.boolean().optional(), name: z.string().optional(), driver: z.string().optional() })])).optional(),
});

export type ComposeService = z.output<typeof serviceSchema>;
export type ComposeFileContent = z.output<typeof fileSchema>;

export interface ComposeProject {
  name: string;
  /** the directory relative paths (build contexts, bind sources, env files) are resolved against */
  dir: string;
  file: string;
  content: ComposeFileContent;
  warnings: string[];
}

const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

export function findComposeFile(cwd: string, file?: string): string {
  if (file) {
    const path = resolve(cwd, file);
    if (!existsSync(path)) throw new MayflyError('INVALID_OPTION', `compose file ${path} not found`);
    return path;
  }
  const found = DEFAULT_FILES.map((f) => resolve(cwd, f)).find((p) => existsSync(p));
  if (!found) throw new MayflyError('INVALID_OPTION', `no compose file in ${cwd} (looked for ${DEFAULT_FILES.join(', ')})`, { hint: 'give one with -f FILE' });
  return found;
}

/** Project names are lower-case letters, digits, - and _ (compose's rule), from the directory by default. */
export function projectName(raw: string): string {
  const name = raw.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  if (!name) throw new MayflyError('INVALID_OPTION', `"${raw}" gives an empty project name`, { hint: 'give one with -p NAME' });
  return name;
}

export function loadComposeFile(path: string, name?: string): ComposeProject {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new MayflyError('INVALID_OPTION', `${path} is not valid YAML: ${(e as Error).message}`);
  }
  const vars = { ...readDotEnv(dirname(path)), ...process.env };
  const content = parseWith(fileSchema, interpolate(raw, vars, path), `compose file ${path}`);
  const warnings: string[] = [];
  for (const [service, def] of Object.entries(content.services)) {
    if (!def.image && !def.build) throw new MayflyError('INVALID_OPTION', `compose file ${path}: service ${service} needs an image or a build`);
    for (const k of IGNORED) if ((def as Record<string, unknown>)[k] !== undefined) warnings.push(`service ${service}: "${k}" is ignored (containers are throwaway here)`);
    const deps = Array.isArray(def.depends_on) ? def.depends_on : Object.keys(def.depends_on ?? {});
    for (const d of deps) if (!content.services[d]) throw new MayflyError('INVALID_OPTION', `compose file ${path}: service ${service} depends on ${d}, which is not defined`);
  }
  return { name: projectName(name ?? content.name ?? basename(dirname(path))), dir: dirname(path), file: path, content, warnings };
}

/** Go-style durations as compose writes them: 30s, 1m30s, 500ms, 1h; a number is seconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v;
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g;
  let matched = '';
  for (const m of v.matchAll(re)) {
    matched += m[0];
    const n = Number(m[1]);
    ms += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : m[2] === 'ms' ? n : m[2] === 'us' ? n / 1000 : n / 1e6;
  }
  if (!matched || matched !== v.replace(/\s/g, '')) throw new MayflyError('INVALID_OPTION', `"${v}" is not a duration like 30s, 1m30s or 500ms`);
  return ms / 1000;
}

/** A command line as compose splits it (quotes group, no shell). */
export function splitCommand(v: string | string[]): string[] {
  return Array.isArray(v) ? v : splitWords(v, { strict: true });
}

/** KEY=VALUE lists and maps, as `environment`, `labels` and build `args` allow; `KEY` alone takes it from here. */
export function envRecord(v: z.output<typeof envMap> | undefined): Record<string, string> {
  if (!v) return {};
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.flatMap((kv) => {
        const i = kv.indexOf('=');
        if (i >= 0) return [[kv.slice(0, i), kv.slice(i + 1)]];
        return process.env[kv] !== undefined ? [[kv, process.env[kv]!]] : [];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(v).flatMap(([k, val]) => (val === null ? (process.env[k] !== undefined ? [[k, process.env[k]!]] : []) : [[k, String(val)]])),
  );
}

/** `env_file` contents: KEY=VALUE lines, # comments, optional quotes. */
export function readEnvFiles(dir: string, files: string | string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of typeof files === 'string' ? [files] : (files ?? [])) {
    const path = isAbsolute(f) ? f : resolve(dir, f);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new MayflyError('INVALID_OPTION', `env_file ${path} cannot be read`);
    }
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      const i = t.indexOf('=');
      if (i < 0) continue;
      out[t.slice(0, i).trim()] = t.slice(i + 1).trim().replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  return out;
}

/** The project directory's .env, the defaults compose interpolates from. */
function readDotEnv(dir: string): Record<string, string> {
  return existsSync(resolve(dir, '.env')) ? readEnvFiles(dir, '.env') : {};
}

/**
 * Compose's variable interpolation in every string value: `$$` is a dollar, `${VAR}` / `$VAR` the
 * variable (empty when unset), `${VAR:-default}` / `${VAR-default}` with a default,
 * `${VAR:?message}` / `${VAR?message}` an error when unset.
 */
export function interpolate(v: unknown, vars: Record<string, string | undefined>, where: string): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, braced, colon, op, arg, bare) => {
      if (m === '$$') return '$';
      const name = (braced ?? bare) as string;
      const value = vars[name];
      const missing = value === undefined || (colon === ':' && value === '');
      if (op === '-') return missing ? (arg as string) : value!;
      if (op === '?' && missing) throw new MayflyError('INVALID_OPTION', `${where}: ${name} is required${arg ? `: ${arg}` : ''}`);
      return value ?? '';
    });
  }
  if (Array.isArray(v)) return v.map((x) => interpolate(x, vars, where));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x, vars, where)]));
  return v;
}
