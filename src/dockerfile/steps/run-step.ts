/**
 * RUN: the command in a container made of the stage's layers (host network unless
 * `--network=none`), its mounts in place (cache directories, secrets, binds of the context or of
 * another stage, tmpfs), and what it wrote — the container's upper dir, less the mount stubs — as
 * the new layer. Heredocs run as Docker runs them: a lone `<<EOF` is the script (a `#!` one is run
 * as a file), otherwise the line and its bodies go to the shell together.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import type { LayerRecord } from '../../image/store/image-store.js';
import type { ContainerSpecInput } from '../../model/container-spec.js';
import { dockerfileError } from '../dockerfile/errors.js';
import type { RunInstruction } from '../dockerfile/instructions.js';
import { parseMount, type RunMount } from '../dockerfile/mounts.js';
import { stageByRef } from '../stages.js';
import type { BuildSession } from '../session.js';
import type { StageState } from '../stage-state.js';
import { acquireCacheMount } from './cache-mounts.js';

/** Proxy settings pass to RUN without an ARG, and stay out of the cache key, as in Docker. */
const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((k) => [k, k.toLowerCase()]);

export interface PreparedRun {
  /** what the cache key depends on */
  inputs: Record<string, unknown>;
  /** makes the layer (only on a cache miss) */
  make(): Promise<LayerRecord>;
  /** undoes what preparing took (locks, staged copies, scratch files) */
  release(): Promise<void>;
}

interface MountSetup {
  binds: { source: string; target: string; readonly: boolean }[];
  tmpfs: { path: string; size?: number }[];
  env: Record<string, string>;
  keys: unknown[];
  mountpoints: string[];
  cleanups: (() => Promise<void> | void)[];
}

/** The argv of the step, and a directory of heredoc scripts to mount when it runs one. */
function command(st: StageState, inst: RunInstruction, scratch: string): { argv: string[]; scripts?: string } {
  if ('exec' in inst.command) return { argv: inst.command.exec };
  const line = inst.command.shell;
  if (!inst.heredocs.length) return { argv: [...st.shell(), line] };
  const only = /^<<-?\s*["']?[A-Za-z0-9_.-]+["']?$/.test(line.trim());
  if (only && inst.heredocs.length === 1) {
    const doc = inst.heredocs[0]!;
    if (doc.content.startsWith('#!')) {
      const dir = join(scratch, `heredoc-${randomBytes(6).toString('hex')}`);
      mkdirSync(dir, { mode: 0o755 });
      chmodSync(dir, 0o755);
      writeFileSync(join(dir, doc.name), doc.content, { mode: 0o755 });
      chmodSync(join(dir, doc.name), 0o755);
      return { argv: [`/dev/pipes/${doc.name}`], scripts: dir };
    }
    return { argv: [...st.shell(), doc.content] };
  }
  const full = line + inst.heredocs.map((d) => `\n${d.content}${d.name}`).join('');
  return { argv: [...st.shell(), full] };
}

async function setupMounts(s: BuildSession, st: StageState, inst: RunInstruction): Promise<MountSetup> {
  const out: MountSetup = { binds: [], tmpfs: [], env: {}, keys: [], mountpoints: [], cleanups: [] };
  try {
    for (const spec of inst.mounts) {
      const m: RunMount = parseMount(st.expand(spec, inst.line), inst.line);
      if (m.type === 'secret') {
        await secretMount(s, st, inst, m, out);
        continue;
      }
      const target = st.absolute(m.target).replace(/(.)\/$/, '$1');
      if (m.type === 'tmpfs') {
        out.tmpfs.push({ path: target, ...(m.size ? { size: m.size } : {}) });
        out.keys.push({ tmpfs: target, size: m.size ?? 0 });
        out.mountpoints.push(target);
      } else if (m.type === 'cache') {
        if (m.from || m.source) throw dockerfileError(inst.line, '--mount=type=cache with from= or source= is not supported', 'start the cache empty: drop from= and source=');
        const held = await acquireCacheMount(s.host, m, s.signal);
        out.cleanups.push(() => held.release());
        out.binds.push({ source: held.dir, target, readonly: m.readonly });
        // a cache's content is not an input: the step must give the same result with an empty one
        out.keys.push({ cache: target, id: m.id, readonly: m.readonly });
        out.mountpoints.push(target);
      } else {
        const staged = await bindSource(s, st, inst, m);
        out.cleanups.push(() => s.host.removeStaged(staged.dir));
        out.binds.push({ source: staged.path, target, readonly: !m.readwrite });
        out.keys.push({ bind: target, from: staged.key, source: m.source, rw: m.readwrite });
        out.mountpoints.push(target);
      }
    }
  } catch (e) {
    await runCleanups(out.cleanups);
    throw e;
  }
  return out;
}

async function runCleanups(cleanups: (() => Promise<void> | void)[]): Promise<void> {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
}

/** A secret as a file (read-only, not in the layer) or as a variable; never part of the cache key or history. */
async function secretMount(s: BuildSession, st: StageState, inst: RunInstruction, m: Extract<RunMount, { type: 'secret' }>, out: MountSetup): Promise<void> {
  const source = s.options.secrets[m.id];
  if (!source) {
    if (m.required) throw dockerfileError(inst.line, `the secret "${m.id}" is required and was not given`, `build with --secret id=${m.id},src=FILE (or secrets: { ${m.id}: { src } })`);
    return;
  }
  let value: Buffer;
  if ('src' in source) {
    try {
      value = readFileSync(source.src);
    } catch (e) {
      throw new MayflyError('INVALID_OPTION', `secret ${m.id}: cannot read ${source.src}: ${(e as Error).message}`, { hint: 'give a readable file with --secret id=ID,src=FILE' });
    }
  } else {
    const v = process.env[source.env];
    if (v === undefined) throw new MayflyError('INVALID_OPTION', `secret ${m.id}: the environment variable ${source.env} is not set`);
    value = Buffer.from(v);
  }
  if (m.env) out.env[m.env] = value.toString();
  if (m.target) {
    const dir = join(s.scratch, `secret-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    const file = join(dir, basename(m.target));
    writeFileSync(file, value, { mode: m.mode });
    chmodSync(file, m.mode);
    if (m.uid || m.gid) await s.host.preparePath({ path: file, kind: 'file', mode: m.mode, uid: m.uid, gid: m.gid });
    out.cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const target = st.absolute(m.target);
    out.binds.push({ source: file, target, readonly: true });
    out.mountpoints.push(target);
  }
  out.keys.push({ secret: m.id, target: m.target ?? null, env: m.env ?? null });
}

/** A bind mount's source as a private copy: of the (filtered) context, or of another stage or image. */
async function bindSource(s: BuildSession, st: StageState, inst: RunInstruction, m: Extract<RunMount, { type: 'bind' }>): Promise<{ dir: string; path: string; key: string }> {
  const fail = (message: string, hint?: string): never => {
    throw dockerfileError(inst.line, `--mount source=${m.source}: ${message}`, hint);
  };
  if (!m.from) {
    const [src] = s.context.resolve(m.source, fail);
    const rel = src!.entry.rel;
    const isDir = src!.entry.kind === 'dir';
    const staged = await s.host.stageCopy({
      parentLayers: [],
      from: { kind: 'dir', root: s.context.root },
      items: [{ kind: 'entry', rel, below: src!.below.map((e) => posix.relative(rel, e.rel)) }],
      dest: isDir ? '/' : `/${posix.basename(rel)}`,
      destIsDir: isDir,
    });
    return { dir: staged.dir, path: isDir ? staged.dir : join(staged.dir, posix.basename(rel)), key: s.context.contentKey([src!]) };
  }
  const index = stageByRef(s.dockerfile, m.from);
  const from = index !== undefined ? await s.stage(index) : await s.image(m.from);
  const staged = await s.host.stageCopy({
    parentLayers: [],
    from: { kind: 'layers', layers: from.layers.map((l) => s.host.store.layerPath(l.chainId)) },
    items: [{ kind: 'entry', rel: m.source.replace(/^\/+/, '') }],
    dest: '/mnt',
    destIsDir: false,
  });
  return { dir: staged.dir, path: join(staged.dir, 'mnt'), key: from.key };
}

export async function prepareRun(s: BuildSession, st: StageState, inst: RunInstruction): Promise<PreparedRun> {
  if (!st.layers.length) throw dockerfileError(inst.line, 'RUN needs a base image with a shell (this stage is FROM scratch)', 'build FROM an image that has the programs the step runs');
  const mounts = await setupMounts(s, st, inst);
  const { argv, scripts } = command(st, inst, s.scratch);
  if (scripts) mounts.cleanups.push(() => rmSync(scripts, { recursive: true, force: true }));
  const env = st.runEnv();
  const proxies = Object.fromEntries(PROXY_ARGS.filter((k) => s.options.buildArgs[k] !== undefined && !(k in env)).map((k) => [k, s.options.buildArgs[k]!]));
  const network = inst.network === 'none' ? 'none' : 'host';
  const user = st.config.User || '0:0';
  const workingDir = st.workdir();
  const inputs = { run: argv, env, user, workingDir, network, mounts: mounts.keys };
  return {
    inputs,
    release: () => runCleanups(mounts.cleanups),
    make: async () => {
      const layers = st.layers.map((l) => s.host.store.layerPath(l.chainId));
      const spec: ContainerSpecInput = {
        layers,
        command: argv,
        env: { ...env, ...proxies, ...mounts.env },
        user,
        workingDir,
        network,
        binds: [...mounts.binds, ...(scripts ? [{ source: scripts, target: '/dev/pipes', readonly: true }] : [])],
        tmpfs: mounts.tmpfs,
      };
      const tail: string[] = [];
      const run = await s.host.runContainer(spec, {
        signal: s.signal,
        onOutput: (stream, data) => {
          tail.push(Buffer.from(data).toString());
          if (tail.length > 200) tail.shift();
          s.output(stream, data);
        },
      });
      try {
        if (s.signal.aborted) throw s.signal.reason;
        if (run.exitCode !== 0) {
          const output = tail.join('').split('\n').slice(-50).join('\n');
          throw new MayflyError('BUILD_FAILED', `Dockerfile line ${inst.line}: ${inst.text.length > 120 ? `${inst.text.slice(0, 117)}...` : inst.text} exited with ${run.exitCode}`, {
            details: { line: inst.line, exitCode: run.exitCode, output },
            hint: 'the output above (or error.details.output) says why',
          });
        }
        const parent = st.layers[st.layers.length - 1]?.chainId;
        return await run.commit({ ...(parent ? { parentChainId: parent } : {}), mountpoints: mounts.mountpoints, compression: s.options.compression });
      } finally {
        await run.remove();
      }
    },
  };
}
