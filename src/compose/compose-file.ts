/**
 * A compose project as the Compose Specification reads it: the files (`-f`, COMPOSE_FILE, or
 * compose.yaml plus its compose.override.yaml), each interpolated from the environment and the
 * project's `.env`, its `include`s loaded as projects of their own, the files merged, `extends`
 * resolved, and the result validated — a key mayfly does not know is an error naming the service and
 * the key. Which keys are honoured, ignored or refused is service-policy.ts's job; which services are
 * on (profiles) is service-selection.ts's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { parseWith } from '../core/validate.js';
import { splitWords } from '../dockerfile/dockerfile/words.js';
import { fileSchema, serviceSchema, type ComposeFileContent, type ListOrDict } from './compose-schema.js';
import { readDotEnv, readEnvFiles } from './env-files.js';
import { hostPath, rebaseFile } from './file-paths.js';
import { interpolate, type Interpolation, type Variables } from './interpolation.js';
import { mergeFiles, mergeService } from './merge.js';
import { isMapping, parseComposeYaml, withoutMarkers } from './yaml-document.js';

export type { ComposeService, ComposeFileContent } from './compose-schema.js';

type Mapping = Record<string, unknown>;

export interface ComposeProject {
  name: string;
  /** the project directory: the first file's, or --project-directory */
  dir: string;
  files: string[];
  content: ComposeFileContent;
  /** the active profiles (--profile, COMPOSE_PROFILES) */
  profiles: string[];
  /** what interpolation used: the environment over the project's .env (secrets and configs may take values from it) */
  vars: Variables;
  warnings: string[];
}

export interface LoadOptions {
  /** the working directory (default: process.cwd()) */
  cwd?: string;
  /** -f FILE…; default COMPOSE_FILE, else compose.yaml (and compose.override.yaml) in cwd */
  files?: string[];
  /** -p NAME; default COMPOSE_PROJECT_NAME, the file's `name:`, the directory's name */
  projectName?: string;
  /** --profile NAME…; default COMPOSE_PROFILES */
  profiles?: string[];
  /** --env-file FILE…; default the project directory's .env */
  envFiles?: string[];
  /** --project-directory DIR */
  projectDirectory?: string;
  /** variables over the environment (as a caller's own environment for the compose command: they win) */
  env?: Record<string, string>;
}

const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/** The files of a project, in merge order. */
export function findComposeFiles(cwd: string, files?: string[]): string[] {
  const given = files?.length ? files : process.env.COMPOSE_FILE ? process.env.COMPOSE_FILE.split(process.env.COMPOSE_PATH_SEPARATOR ?? ':').filter(Boolean) : undefined;
  if (given) {
    return given.map((f) => {
      const path = resolve(cwd, f);
      if (!existsSync(path)) throw new MayflyError('INVALID_OPTION', `compose file ${path} not found`);
      return path;
    });
  }
  const found = DEFAULT_FILES.map((f) => resolve(cwd, f)).find((p) => existsSync(p));
  if (!found) throw new MayflyError('INVALID_OPTION', `no compose file in ${cwd} (looked for ${DEFAULT_FILES.join(', ')})`, { hint: 'give one with -f FILE' });
  const override = found.replace(/\.(ya?ml)$/, '.override.$1');
  return existsSync(override) ? [found, override] : [found];
}

/** Project names are lower-case letters, digits, - and _ (compose's rule), from the directory by default. */
export function projectName(raw: string): string {
  const name = raw.toLowerCase().replace(/[^a-z0-9_-]/g, '');
  if (!name) throw new MayflyError('INVALID_OPTION', `"${raw}" gives an empty project name`, { hint: 'give one with -p NAME' });
  return name;
}

export function loadComposeProject(opts: LoadOptions = {}): ComposeProject {
  const cwd = opts.cwd ?? process.cwd();
  const files = findComposeFiles(cwd, opts.files);
  const dir = opts.projectDirectory ? resolve(cwd, opts.projectDirectory) : dirname(files[0]!);
  const vars: Variables = { ...readDotEnv(dir, opts.envFiles?.map((f) => resolve(cwd, f))), ...process.env, ...opts.env };
  const reader = new FileReader(vars);
  let merged: Mapping = {};
  for (const f of files) merged = mergeFiles(merged, reader.project(f, dir, [f]));
  const services = isMapping(merged.services) ? merged.services : {};
  const resolved: Mapping = {};
  for (const name of Object.keys(services)) resolved[name] = resolveExtends(reader, services, name, files[0]!, []);
  merged = { ...merged, services: resolved };
  const where = files.length === 1 ? `compose file ${files[0]}` : `compose files ${files.join(', ')}`;
  const content = validate(withoutMarkers(merged), where);
  const warnings = [...reader.unset].map((v) => `the ${v} variable is not set: it stands for an empty string`);
  if (content.version !== undefined) warnings.push('`version` is obsolete: it is ignored');
  const profileList = opts.profiles?.length ? opts.profiles : (vars.COMPOSE_PROFILES ?? '').split(',');
  return {
    name: projectName(opts.projectName ?? vars.COMPOSE_PROJECT_NAME ?? content.name ?? basename(dir)),
    dir,
    files,
    content,
    profiles: profileList.map((s) => s.trim()).filter(Boolean),
    vars,
    warnings,
  };
}

/** The file against the specification's shape; a misspelt key is named with the closest known one. */
function validate(model: unknown, where: string): ComposeFileContent {
  try {
    return parseWith(fileSchema, model, where);
  } catch (e) {
    const issues = (e as MayflyError).details?.issues as { path: string; message: string }[] | undefined;
    if (!issues) throw e;
    const known = (path: string) => (path === '' ? TOP_KEYS : /^services\.[^.]+$/.test(path) ? SERVICE_KEYS : undefined);
    const lines = issues.map((i) => {
      const keys = [...i.message.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
      const candidates = i.message.startsWith('Unrecognized key') ? known(i.path) : undefined;
      const hints = candidates ? keys.map((k) => closest(k, candidates)).filter((h): h is string => h !== undefined) : [];
      return `  ${i.path || '(top level)'}: ${i.message}${hints.length ? ` (did you mean ${hints.join(', ')}?)` : ''}`;
    });
    throw new MayflyError('INVALID_OPTION', `invalid ${where}:\n${lines.join('\n')}`, { details: { issues } });
  }
}

const TOP_KEYS = Object.keys(fileSchema.out.shape);
const SERVICE_KEYS = Object.keys(serviceSchema.out.shape);

/** The known key nearest to a misspelt one (at most a third of its letters apart), if any. */
function closest(word: string, known: string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const key of known) {
    const d = editDistance(word.toLowerCase(), key);
    if (d <= Math.max(1, Math.floor(key.length / 3)) && (!best || d < best.d)) best = { key, d };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** Reads, interpolates and rebases files once each; collects the variables that were unset. */
class FileReader {
  readonly unset = new Set<string>();
  private readonly cache = new Map<string, Mapping>();

  constructor(private readonly vars: Variables) {}

  /** One file as written (interpolated, paths made absolute against `dir`). */
  file(path: string, dir: string, vars = this.vars): Mapping {
    const key = `${path}\0${dir}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new MayflyError('INVALID_OPTION', `compose file ${path} cannot be read: ${(e as Error).message}`);
    }
    const ctx: Interpolation = { vars, where: path, unset: this.unset };
    const raw = rebaseFile(interpolate(parseComposeYaml(text, path), ctx) as Mapping, dir);
    this.cache.set(key, raw);
    return raw;
  }

  /** A file with its `include`s merged in; `chain` guards against a file including itself. */
  project(path: string, dir: string, chain: string[], vars = this.vars): Mapping {
    const raw = this.file(path, dir, vars);
    const { include, ...own } = raw;
    if (include === undefined) return own;
    if (!Array.isArray(include)) throw new MayflyError('INVALID_OPTION', `compose file ${path}: include must be a list`);
    let out: Mapping = own;
    for (const entry of include) {
      const inc = typeof entry === 'string' ? { path: entry } : isMapping(entry) ? entry : undefined;
      const paths = typeof inc?.path === 'string' ? [inc.path] : Array.isArray(inc?.path) ? (inc.path as unknown[]).map(String) : undefined;
      if (!inc || !paths?.length) throw new MayflyError('INVALID_OPTION', `compose file ${path}: include entries are a path or {path, project_directory, env_file}`);
      const files = paths.map((p) => hostPath(dirname(path), p));
      for (const f of files) {
        if (chain.includes(f)) throw new MayflyError('INVALID_OPTION', `include cycle: ${[...chain, f].join(' → ')}`);
        if (!existsSync(f)) throw new MayflyError('INVALID_OPTION', `compose file ${path}: included file ${f} not found`);
      }
      const incDir = typeof inc.project_directory === 'string' ? hostPath(dirname(path), inc.project_directory) : dirname(files[0]!);
      const envFiles = typeof inc.env_file === 'string' ? [inc.env_file] : Array.isArray(inc.env_file) ? (inc.env_file as unknown[]).map(String) : undefined;
      const incVars = { ...readDotEnv(incDir, envFiles?.map((f) => hostPath(dirname(path), f))), ...process.env };
      let included: Mapping = {};
      for (const f of files) included = mergeFiles(included, this.project(f, incDir, [...chain, f], incVars));
      out = addIncluded(out, included, path, files[0]!);
    }
    return out;
  }
}

/** Resources of an included project join the including one; the same name defined by both is an error. */
function addIncluded(own: Mapping, included: Mapping, path: string, from: string): Mapping {
  const out: Mapping = { ...own };
  for (const key of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
    const theirs = included[key];
    if (!isMapping(theirs)) continue;
    const mine = isMapping(out[key]) ? (out[key] as Mapping) : {};
    for (const name of Object.keys(theirs)) {
      if (name in mine) throw new MayflyError('INVALID_OPTION', `compose file ${path}: ${key}.${name} is defined here and in the included ${from}`, { hint: 'rename one; an included project cannot be redefined by the file that includes it' });
    }
    out[key] = { ...theirs, ...mine };
  }
  return out;
}

/** A service with what it `extends` merged under it (from this file, or another with `file:`). */
function resolveExtends(reader: FileReader, services: Mapping, name: string, file: string, chain: string[]): Mapping {
  const def = services[name];
  const here = `${file}#${name}`;
  if (!isMapping(def)) {
    if (def === undefined) throw new MayflyError('INVALID_OPTION', `${chain.length ? `${chain.at(-1)} extends ${name}, which` : `service ${name}`} is not defined in ${file}`);
    return def as Mapping;
  }
  if (def.extends === undefined) return def;
  if (chain.includes(here)) throw new MayflyError('INVALID_OPTION', `extends cycle: ${[...chain, here].map((s) => s.split('#')[1]).join(' → ')}`);
  const ext = typeof def.extends === 'string' ? { service: def.extends } : isMapping(def.extends) ? def.extends : undefined;
  if (!ext || typeof ext.service !== 'string') throw new MayflyError('INVALID_OPTION', `service ${name}: extends is a service name or {service, file}`);
  const { extends: _, ...own } = def;
  if (typeof ext.file === 'string') {
    if (!existsSync(ext.file)) throw new MayflyError('INVALID_OPTION', `service ${name}: extends file ${ext.file} not found`);
    const other = reader.file(ext.file, dirname(ext.file));
    const otherServices = isMapping(other.services) ? other.services : {};
    if (!(ext.service in otherServices)) throw new MayflyError('INVALID_OPTION', `service ${name} extends ${ext.service}, which is not defined in ${ext.file}`);
    const base = resolveExtends(reader, otherServices, ext.service, ext.file, [...chain, here]);
    return mergeService(base, own);
  }
  if (!(ext.service in services)) throw new MayflyError('INVALID_OPTION', `service ${name} extends ${ext.service}, which is not defined in ${file}`);
  return mergeService(resolveExtends(reader, services, ext.service, file, [...chain, here]), own);
}

/** Go-style durations as compose writes them: 30s, 1m30s, 500ms, 1h; a number is seconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === 'number') return v;
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g;
  let matched = '';
  for (const m of v.matchAll(re)) {
    matched += m[0];
    const n = Number(m[1]);
    ms += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : m[2] === 'ms' ? n : m[2] === 'ns' ? n / 1e6 : n / 1000;
  }
  if (!matched || matched !== v.replace(/\s/g, '')) throw new MayflyError('INVALID_OPTION', `"${v}" is not a duration like 30s, 1m30s or 500ms`);
  return ms / 1000;
}

/** A command line as compose splits it (quotes group, no shell). */
export function splitCommand(v: string | string[]): string[] {
  return Array.isArray(v) ? v : splitWords(v, { strict: true });
}

/** KEY=VALUE lists and maps, as `environment`, `labels` and build `args` allow; `KEY` alone (or null) takes it from `vars`. */
export function envRecord(v: ListOrDict | undefined, vars: Variables = process.env): Record<string, string> {
  if (!v) return {};
  const pairs: [string, string | undefined][] = Array.isArray(v)
    ? v.map((kv) => {
        const i = kv.indexOf('=');
        return i >= 0 ? [kv.slice(0, i), kv.slice(i + 1)] : [kv, vars[kv]];
      })
    : Object.entries(v).map(([k, val]) => [k, val === null ? vars[k] : String(val)]);
  return Object.fromEntries(pairs.filter((p): p is [string, string] => p[1] !== undefined));
}

export { readEnvFiles };
