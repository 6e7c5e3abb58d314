/**
 * `docker build` for the Dockerfile subset: each RUN, COPY and ADD becomes a layer, cached by its
 * parent layer and its inputs (the command and its environment; the sources' content), so a
 * rebuild with nothing changed runs no step. RUN executes in mayfly's runtime with the host's
 * network, so package managers can reach their archives.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { MayflyError } from '../../errors.js';
import type { Runtime } from '../../runtime/runtime.js';
import { resolveUser } from '../../runtime/user.js';
import { envToRecord } from '../run-defaults.js';
import type { ImageConfigFile } from '../store/image-config.js';
import { atomicWrite, type ImageRecord, type ImageStore, type LayerRecord } from '../store/image-store.js';
import { parseDockerfile, substitute, type Instruction } from './dockerfile.js';
import { contextPath } from './stage-copy.js';
import { writeImage } from './image-writer.js';

export interface BuildOptions {
  /** the build context directory */
  context: string;
  /** default: `<context>/Dockerfile` */
  dockerfile?: string;
  /** name for the result, e.g. `myapp:dev` */
  tag?: string;
  buildArgs?: Record<string, string>;
  onStep?: (e: BuildStep) => void;
  /** RUN output, as it comes */
  onOutput?: (stream: 'stdout' | 'stderr', data: Uint8Array) => void;
}

export interface BuildStep {
  index: number;
  total: number;
  text: string;
  cached: boolean;
  /** true for steps that only change the image's settings */
  metadata: boolean;
}

interface CacheEntry {
  layer: LayerRecord;
  created: string;
}

type Config = NonNullable<ImageConfigFile['config']>;

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Content hash of COPY sources: paths, modes, link targets and file bytes. */
function contentHash(context: string, sources: string[]): string {
  const h = createHash('sha256');
  const visit = (p: string, rel: string) => {
    const st = lstatSync(p);
    h.update(`${rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(p));
    else if (st.isDirectory()) for (const n of readdirSync(p).sort()) visit(join(p, n), `${rel}/${n}`);
    else h.update(readFileSync(p));
  };
  for (const s of sources) visit(contextPath(context, s), s);
  return h.digest('hex');
}

function instructionText(i: Instruction): string {
  switch (i.op) {
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      return `${i.op} ${i.shell ? i.command[2] : JSON.stringify(i.command)}`;
    case 'COPY':
    case 'ADD':
      return `${i.op} ${i.chown ? `--chown=${i.chown} ` : ''}${i.sources.join(' ')} ${i.dest}`;
    case 'ENV':
    case 'LABEL':
      return `${i.op} ${i.pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    case 'ARG':
      return `ARG ${i.name}${i.default !== undefined ? `=${i.default}` : ''}`;
    case 'EXPOSE':
      return `EXPOSE ${i.ports.join(' ')}`;
    case 'VOLUME':
      return `VOLUME ${JSON.stringify(i.paths)}`;
    case 'HEALTHCHECK':
      return `HEALTHCHECK ${i.test ? JSON.stringify(i.test) : 'NONE'}`;
    case 'FROM':
      return `FROM ${i.image}`;
    default:
      return `${i.op} ${i.value}`;
  }
}

/** The image's /etc/passwd and /etc/group, read from the topmost layer that has them. */
function imageFile(store: ImageStore, layers: LayerRecord[], file: string): string {
  for (const l of [...layers].reverse()) {
    const p = join(store.layerPath(l.chainId), file);
    if (!existsSync(p)) continue;
    const st = lstatSync(p);
    if (st.isCharacterDevice()) return ''; // deleted by a whiteout
    if (st.isFile()) return readFileSync(p, 'utf8');
  }
  return '';
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
function nanoseconds(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new MayflyError('INVALID_OPTION', `HEALTHCHECK: "${text}" is not a duration like 30s`);
  return Math.round(Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as 'ms' | 's' | 'm' | 'h']);
}

export async function buildImage(rt: Runtime, store: ImageStore, o: BuildOptions): Promise<ImageRecord> {
  const dockerfile = o.dockerfile ?? join(o.context, 'Dockerfile');
  if (!existsSync(dockerfile)) throw new MayflyError('INVALID_OPTION', `no Dockerfile at ${dockerfile}`, { hint: 'give its path with -f' });
  const steps = parseDockerfile(readFileSync(dockerfile, 'utf8'));
  const cacheDir = join(store.home, 'build-cache');
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });

  const args: Record<string, string> = {};
  let layers: LayerRecord[] = [];
  let config: Config = {};
  let history: NonNullable<ImageConfigFile['history']> = [];
  let key = 'scratch';
  let created = new Date(0).toISOString();
  const vars = () => ({ ...args, ...envToRecord(config.Env) });

  for (const [index, step] of steps.entries()) {
    const text = instructionText(step);
    const event = (cached: boolean, metadata: boolean) => o.onStep?.({ index: index + 1, total: steps.length, text, cached, metadata });
    const note = (emptyLayer: boolean) => history.push({ created_by: text, ...(emptyLayer ? { empty_layer: true } : {}) });
    switch (step.op) {
      case 'ARG':
        args[step.name] = o.buildArgs?.[step.name] ?? step.default ?? '';
        event(false, true);
        continue;
      case 'FROM': {
        const ref = substitute(step.image, args);
        event(false, false);
        if (ref === 'scratch') continue;
        const base = store.find(ref) ?? (await rt.pull(ref));
        layers = [...base.layers];
        config = structuredClone(base.config.config ?? {});
        history = [...(base.config.history ?? [])];
        key = base.id;
        created = base.config.created ?? created;
        continue;
      }
      case 'ENV': {
        const env = envToRecord(config.Env);
        for (const [k, v] of step.pairs) env[k] = substitute(v, vars());
        config.Env = Object.entries(env).map(([k, v]) => `${k}=${v}`);
        break;
      }
      case 'LABEL':
        config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(step.pairs.map(([k, v]) => [k, substitute(v, vars())])) };
        break;
      case 'WORKDIR':
        config.WorkingDir = posix.resolve(config.WorkingDir || '/', substitute(step.value, vars()));
        break;
      case 'USER':
        config.User = substitute(step.value, vars());
        break;
      case 'STOPSIGNAL':
        config.StopSignal = substitute(step.value, vars());
        break;
      case 'EXPOSE':
        config.ExposedPorts = { ...(config.ExposedPorts ?? {}), ...Object.fromEntries(step.ports.map((p) => [substitute(p, vars()), {}])) };
        break;
      case 'VOLUME':
        config.Volumes = { ...(config.Volumes ?? {}), ...Object.fromEntries(step.paths.map((p) => [substitute(p, vars()), {}])) };
        break;
      case 'CMD':
        config.Cmd = step.command;
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = step.command;
        config.Cmd = null; // as Docker: a new entrypoint drops the inherited CMD
        break;
      case 'HEALTHCHECK': {
        const opts = step.options;
        config.Healthcheck = step.test
          ? {
              Test: step.test,
              ...(opts.interval ? { Interval: nanoseconds(opts.interval) } : {}),
              ...(opts.timeout ? { Timeout: nanoseconds(opts.timeout) } : {}),
              ...(opts['start-period'] ? { StartPeriod: nanoseconds(opts['start-period']) } : {}),
              ...(opts.retries ? { Retries: Number(opts.retries) } : {}),
            }
          : { Test: ['NONE'] };
        break;
      }
      case 'RUN':
      case 'COPY':
      case 'ADD': {
        const parent = layers[layers.length - 1]?.chainId;
        const inputs =
          step.op === 'RUN'
            ? { run: step.command, env: vars(), user: config.User ?? '', workdir: config.WorkingDir ?? '' }
            : { copy: step.sources, dest: step.dest, chown: step.chown ?? '', workdir: config.WorkingDir ?? '', content: contentHash(o.context, step.sources) };
        key = sha(`${key}\n${JSON.stringify(inputs)}`);
        const cacheFile = join(cacheDir, `${key}.json`);
        let entry: CacheEntry | undefined;
        try {
          entry = JSON.parse(readFileSync(cacheFile, 'utf8')) as CacheEntry;
          if (!store.hasLayer(entry.layer.chainId) || !existsSync(store.blobPath(entry.layer.digest))) entry = undefined;
        } catch {
          entry = undefined;
        }
        event(Boolean(entry), false);
        if (!entry) {
          const layer = step.op === 'RUN' ? await runStep(rt, store, layers, config, step.command, vars(), parent, o, step.line) : await copyStep(rt, store, layers, config, step, parent, vars(), o.context);
          entry = { layer, created: new Date().toISOString() };
          atomicWrite(cacheFile, JSON.stringify(entry));
        }
        layers.push(entry.layer);
        if (entry.created > created) created = entry.created;
        note(false);
        continue;
      }
    }
    event(false, true);
    note(true);
  }
  return writeImage(store, { layers, config, history, created, source: 'built', ...(o.tag ? { name: o.tag } : {}) });
}

async function runStep(rt: Runtime, store: ImageStore, layers: LayerRecord[], config: Config, command: string[], env: Record<string, string>, parent: string | undefined, o: BuildOptions, line: number): Promise<LayerRecord> {
  if (!layers.length) throw new MayflyError('INVALID_OPTION', `Dockerfile line ${line}: RUN needs a base image (FROM scratch has no shell)`);
  const tail: string[] = [];
  const c = await rt.create({
    layers: layers.map((l) => store.layerPath(l.chainId)),
    command,
    env,
    user: config.User || '0:0',
    workingDir: config.WorkingDir || '/',
    network: 'host',
  });
  try {
    await c.start({
      onOutput: (stream, data) => {
        tail.push(Buffer.from(data).toString());
        if (tail.length > 50) tail.shift();
        o.onOutput?.(stream, data);
      },
    });
    const { exitCode } = await c.wait();
    if (exitCode !== 0) {
      throw new MayflyError('CONTAINER_START_FAILED', `Dockerfile line ${line}: RUN ${command.join(' ')} exited with ${exitCode}`, {
        details: { exitCode, output: tail.join('').split('\n').slice(-50).join('\n') },
        hint: 'the output above (or error.details.output) says why',
      });
    }
    return await rt.sandbox.request('commit-layer', { dir: join(c.dir, 'upper'), ...(parent ? { parentChainId: parent } : {}), how: 'move', runtimeMountpoints: true });
  } finally {
    await c.remove({ force: true });
  }
}

async function copyStep(rt: Runtime, store: ImageStore, layers: LayerRecord[], config: Config, step: Extract<Instruction, { op: 'COPY' | 'ADD' }>, parent: string | undefined, vars: Record<string, string>, context: string): Promise<LayerRecord> {
  const dest = posix.resolve(config.WorkingDir || '/', substitute(step.dest, vars)) + (step.dest.endsWith('/') ? '/' : '');
  let uid = 0;
  let gid = 0;
  if (step.chown) {
    const u = resolveUser(substitute(step.chown, vars), imageFile(store, layers, 'etc/passwd'), imageFile(store, layers, 'etc/group'));
    uid = u.uid;
    gid = step.chown.includes(':') ? u.gid : u.gid;
  }
  const { dir } = await rt.sandbox.request('stage-copy', { context, sources: step.sources.map((s) => substitute(s, vars)), dest, uid, gid, extractArchives: step.op === 'ADD' });
  return rt.sandbox.request('commit-layer', { dir, ...(parent ? { parentChainId: parent } : {}), how: 'move', runtimeMountpoints: false });
}
