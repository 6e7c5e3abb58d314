/**
 * Where a registry is reached and how. Docker Hub's pull limits and hermetic CI make mirrors and
 * rewrites a first-class setting: a suite can point `docker.io/library/` at a registry it runs itself
 * without touching the images its presets name.
 *
 * Sources, later wins: defaults, the `registries` section of `$MAYFLY_HOME/config.json`, environment.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import { readJsonFile } from './read-json-file.js';
import { mayflyHome } from '../core/paths.js';
import { isRegistryName, normalizeRegistry, parseReference, type ImageReference } from './reference.js';

export interface RegistryRewrite {
  /** a prefix of a normalized `registry/repository`, e.g. `docker.io/library/` */
  from: string;
  /** what replaces it, e.g. `127.0.0.1:5000/mirror/` */
  to: string;
}

export interface RegistryConfig {
  /** registry → mirrors tried in order before it; an entry may force a scheme with `http://` */
  mirrors: Record<string, string[]>;
  rewrites: RegistryRewrite[];
  /** registries reached over plain HTTP (loopback ones always are) */
  insecure: string[];
}

export interface RegistryEndpoint {
  registry: string;
  repository: string;
  scheme: 'http' | 'https';
  mirror: boolean;
}

export function defaultRegistryConfig(): RegistryConfig {
  return { mirrors: {}, rewrites: [], insecure: [] };
}

const registryName = z
  .string()
  .refine(isRegistryName, { message: 'expected a registry like ghcr.io or 127.0.0.1:5000' })
  .transform(normalizeRegistry);

const mirrorLocation = z
  .string()
  .refine((m) => isRegistryName(m.replace(/^https?:\/\//, '')), {
    message: 'expected a registry like mirror.local:5000, optionally with http:// or https://',
  });

const namePrefix = z
  .string()
  .min(1, 'must not be empty')
  .regex(/^[^\s@:/]*(?::[0-9]+)?(?:\/[^\s@:]*)?$/, 'expected a name prefix like docker.io/library/ (no tag or digest)');

const registriesSchema = z.strictObject({
  mirrors: z
    .record(z.string(), z.array(mirrorLocation))
    .superRefine((mirrors, ctx) => {
      for (const key of Object.keys(mirrors)) {
        if (!isRegistryName(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'not a registry name' });
      }
    })
    .transform((mirrors) => Object.fromEntries(Object.entries(mirrors).map(([k, v]) => [normalizeRegistry(k), v])))
    .optional(),
  rewrites: z.array(z.strictObject({ from: namePrefix, to: namePrefix })).optional(),
  insecure: z.array(registryName).optional(),
});

/** Other sections of config.json belong to other parts of mayfly, so only `registries` is strict. */
const configFileSchema = z.looseObject({ registries: registriesSchema.optional() });

type PartialRegistryConfig = z.output<typeof registriesSchema>;

function invalidSettings(source: string, error: z.ZodError, prefix: string[]): MayflyError {
  const issues = error.issues.map((i) => ({ path: [...prefix, ...i.path.map(String)].join('.'), message: i.message }));
  return new MayflyError(
    'INVALID_OPTION',
    `invalid registry settings in ${source}:\n${issues.map((i) => `  ${i.path || '(file)'}: ${i.message}`).join('\n')}`,
    { details: { source, issues } },
  );
}

/** The `registries` section of a parsed config.json; `source` names the file in errors. */
export function parseRegistryConfigFile(json: unknown, source: string): PartialRegistryConfig {
  const result = configFileSchema.safeParse(json);
  if (!result.success) throw invalidSettings(source, result.error, []);
  return result.data.registries ?? {};
}

/** Reads the file; a missing file is no settings, an unreadable or malformed one is an error. */
export async function readRegistryConfigFile(file: string): Promise<PartialRegistryConfig> {
  const json = await readJsonFile(file, 'INVALID_OPTION');
  return json === undefined ? {} : parseRegistryConfigFile(json, file);
}

/**
 * MAYFLY_REGISTRY_MIRRORS=docker.io=127.0.0.1:5000,ghcr.io=mirror.local:5000 (repeat a registry for
 * several mirrors), MAYFLY_INSECURE_REGISTRIES=a:5000,b, and MAYFLY_REGISTRY_REWRITES=from=to,… .
 */
export function registryConfigFromEnv(env: NodeJS.ProcessEnv = process.env): PartialRegistryConfig {
  const out: PartialRegistryConfig = {};
  const mirrors = pairs(env, 'MAYFLY_REGISTRY_MIRRORS');
  if (mirrors) {
    const grouped: Record<string, string[]> = {};
    for (const [registry, mirror] of mirrors) (grouped[registry] ??= []).push(mirror);
    out.mirrors = fromEnv('MAYFLY_REGISTRY_MIRRORS', registriesSchema.shape.mirrors, grouped);
  }
  const rewrites = pairs(env, 'MAYFLY_REGISTRY_REWRITES');
  if (rewrites) {
    const rules = rewrites.map(([from, to]) => ({ from, to }));
    out.rewrites = fromEnv('MAYFLY_REGISTRY_REWRITES', registriesSchema.shape.rewrites, rules);
  }
  const insecure = list(env.MAYFLY_INSECURE_REGISTRIES);
  if (insecure.length) out.insecure = fromEnv('MAYFLY_INSECURE_REGISTRIES', registriesSchema.shape.insecure, insecure);
  return out;
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function pairs(env: NodeJS.ProcessEnv, variable: string): Array<[string, string]> | undefined {
  const items = list(env[variable]);
  if (!items.length) return undefined;
  return items.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) {
      throw new MayflyError('INVALID_OPTION', `${variable}: "${item}" is not of the form KEY=VALUE`, {
        hint: `e.g. ${variable}=docker.io=127.0.0.1:5000`,
      });
    }
    return [item.slice(0, eq).trim(), item.slice(eq + 1).trim()];
  });
}

function fromEnv<S extends z.ZodType>(variable: string, schema: S, value: unknown): NonNullable<z.output<S>> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidSettings(`$${variable}`, result.error, []);
  return result.data as NonNullable<z.output<S>>;
}

/**
 * Later wins: a registry's mirror list is replaced as a whole, rewrites of a later source are
 * consulted first, insecure registries add up (marking one insecure never breaks another source).
 */
export function mergeRegistryConfigs(...parts: PartialRegistryConfig[]): RegistryConfig {
  const merged = defaultRegistryConfig();
  for (const part of parts) {
    Object.assign(merged.mirrors, part.mirrors ?? {});
    merged.rewrites = [...(part.rewrites ?? []), ...merged.rewrites];
    for (const r of part.insecure ?? []) if (!merged.insecure.includes(r)) merged.insecure.push(r);
  }
  return merged;
}

/** Defaults, then `file` (default `$MAYFLY_HOME/config.json`), then the environment. */
export async function loadRegistryConfig(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RegistryConfig> {
  const env = opts.env ?? process.env;
  const file = opts.file ?? join(mayflyHome(env), 'config.json');
  return mergeRegistryConfigs(await readRegistryConfigFile(file), registryConfigFromEnv(env));
}

/** Docker allows plain HTTP to loopback registries without configuration; so do we. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry);
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(0, registry.indexOf(']') + 1);
  const colon = registry.indexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}

/** An insecure entry without a port covers every port of that host, as in Docker. */
export function registryScheme(registry: string, config: RegistryConfig): 'http' | 'https' {
  if (isLoopbackRegistry(registry)) return 'http';
  const host = hostOf(registry);
  return config.insecure.some((entry) => entry === registry || entry === host) ? 'http' : 'https';
}

/**
 * The places to try for a reference, in order. A matching rewrite (the longest `from` wins) replaces
 * the reference's location outright, like a `location` in containers' registries.conf: the original
 * registry is not tried, so a suite pointed at a local registry cannot silently reach the internet.
 * Then the mirrors of the (rewritten) registry, then that registry itself. Mirrors serve the same
 * repository names, so tags and digests resolve unchanged through them.
 */
export function resolveEndpoints(ref: ImageReference, config: RegistryConfig): RegistryEndpoint[] {
  const target = applyRewrites(ref, config.rewrites);
  const endpoints: RegistryEndpoint[] = [];
  for (const location of config.mirrors[target.registry] ?? []) {
    const scheme = /^https?:\/\//.exec(location)?.[0];
    const registry = normalizeRegistry(scheme ? location.slice(scheme.length) : location);
    if (registry === target.registry || endpoints.some((e) => e.registry === registry)) continue;
    endpoints.push({
      registry,
      repository: target.repository,
      scheme: scheme === 'http://' ? 'http' : scheme === 'https://' ? 'https' : registryScheme(registry, config),
      mirror: true,
    });
  }
  endpoints.push({ ...target, scheme: registryScheme(target.registry, config), mirror: false });
  return endpoints;
}

/** A `from` matches at a path boundary only: `docker.io/library/mongo` must not catch `mongo-express`. */
export function applyRewrites(ref: ImageReference, rewrites: RegistryRewrite[]): { registry: string; repository: string } {
  const name = `${ref.registry}/${ref.repository}`;
  let best: RegistryRewrite | undefined;
  for (const rule of rewrites) {
    const from = rule.from.replace(/^index\.docker\.io\//, 'docker.io/');
    const rest = name.slice(from.length);
    const matches = name.startsWith(from) && (from.endsWith('/') || rest === '' || rest.startsWith('/'));
    if (matches && (!best || from.length > best.from.length)) best = { from, to: rule.to };
  }
  if (!best) return { registry: ref.registry, repository: ref.repository };
  const rewritten = best.to + name.slice(best.from.length);
  const fail = (cause?: unknown) =>
    new MayflyError('INVALID_OPTION', `the registry rewrite ${best.from} → ${best.to} turns ${name} into "${rewritten}", which is not an image name`, {
      cause,
      hint: 'a rewrite target names a registry and a repository prefix, e.g. 127.0.0.1:5000/mirror/',
    });
  // `localhost:5000` + `mongo` would otherwise parse as the image "localhost" tagged "5000mongo".
  if (rewritten.lastIndexOf(':') > rewritten.lastIndexOf('/')) throw fail();
  try {
    const { registry, repository } = parseReference(rewritten);
    return { registry, repository };
  } catch (e) {
    throw fail(e);
  }
}
