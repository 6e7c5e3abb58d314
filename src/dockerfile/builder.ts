/**
 * `docker build` with BuildKit's semantics: the Dockerfile parsed, its stage graph planned from the
 * target (stages nothing needs are skipped), each needed stage built once — side by side when they
 * do not depend on each other — and the target written to the store under its names only at the
 * end, so a failed build leaves no image name. Each RUN, COPY, ADD and WORKDIR that changes files is
 * a layer cached by its parent's key and its inputs: a rebuild with nothing changed runs no step
 * and gives the same image ID.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { formatReference, parseReference } from '../image/reference.js';
import { writeImage } from '../image/store/image-writer.js';
import type { ImageRecord, LayerRecord } from '../image/store/image-store.js';
import type { BuildHost } from './build-host.js';
import { BuildContext } from './context.js';
import { dockerfileError } from './dockerfile/errors.js';
import { expandWord, ExpansionError } from './dockerfile/expand.js';
import type { FromInstruction, Instruction } from './dockerfile/instructions.js';
import { parseDockerfile, type Dockerfile } from './dockerfile/parse.js';
import { cacheKey, LayerCache } from './layer-cache.js';
import { parseBuildOptions, type BuildOptions, type BuildStep, type NormalizedBuildOptions } from './options.js';
import { isHostPlatform, platformArgs } from './platform.js';
import type { BuildSession } from './session.js';
import { StageState, type StageResult } from './stage-state.js';
import { stageGraph } from './stages.js';
import { commitPlan, prepareCopy } from './steps/copy-step.js';
import { prepareRun } from './steps/run-step.js';

export type { BuildOptions, BuildStep } from './options.js';
export type { BuildHost } from './build-host.js';

const PREDEFINED = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((k) => [k, k.toLowerCase()]));

class Build implements BuildSession {
  readonly context: BuildContext;
  readonly cache: LayerCache;
  readonly dockerfile: Dockerfile;
  readonly scratch: string;
  private readonly abort = new AbortController();
  readonly signal = this.abort.signal;
  private readonly stages = new Map<number, Promise<StageResult>>();
  private readonly images = new Map<string, Promise<StageResult>>();
  private readonly globals: Record<string, string | undefined> = {};
  private readonly warned = new Set<string>();
  private readonly consumed = new Set<string>();
  private stepIndex = 0;
  private total = 0;

  constructor(
    readonly host: BuildHost,
    readonly options: NormalizedBuildOptions,
  ) {
    const dockerfilePath = options.dockerfile ?? join(options.context, 'Dockerfile');
    let text = options.dockerfileText;
    if (text === undefined) {
      if (!existsSync(dockerfilePath)) throw new MayflyError('INVALID_OPTION', `no Dockerfile at ${dockerfilePath}`, { hint: 'give its path with -f (or dockerfile:)' });
      text = readFileSync(dockerfilePath, 'utf8');
    }
    this.dockerfile = parseDockerfile(text);
    if (this.dockerfile.directives.syntax) this.warn(`# syntax=${this.dockerfile.directives.syntax}: mayfly uses its built-in Dockerfile frontend`);
    for (const w of this.dockerfile.warnings) this.warn(`Dockerfile ${w}`);
    this.context = new BuildContext(options.context, options.dockerfileText === undefined ? dockerfilePath : undefined);
    this.cache = new LayerCache(host.store, options.noCache);
    this.scratch = join(host.scratchDir, `build-${randomBytes(6).toString('hex')}`);
    const cancel = () => {
      if (!this.signal.aborted) this.abort.abort(new MayflyError('BUILD_FAILED', 'the build was cancelled'));
    };
    if (options.signal?.aborted) cancel();
    else options.signal?.addEventListener('abort', cancel, { once: true });
  }

  warn(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.options.onWarning?.(message);
  }

  output(stream: 'stdout' | 'stderr', data: Uint8Array): void {
    this.options.onOutput?.(stream, data);
  }

  step(e: Omit<BuildStep, 'index' | 'total'>): number {
    const index = ++this.stepIndex;
    this.options.onStep?.({ ...e, index, total: this.total });
    return index;
  }

  /** ARGs before the first FROM, with the predefined platform ARGs: what FROM lines and `ARG NAME` (no value) in a stage see. */
  private resolveGlobals(): void {
    Object.assign(this.globals, platformArgs());
    for (const inst of this.dockerfile.globalArgs) {
      for (const a of inst.args) {
        this.consumed.add(a.name);
        const given = this.options.buildArgs[a.name];
        this.globals[a.name] = given ?? (a.default !== undefined ? this.expandGlobal(a.default, inst.line) : undefined);
      }
    }
  }

  private expandGlobal(text: string, line: number): string {
    try {
      return expandWord(text, (n) => this.globals[n], this.dockerfile.directives.escape);
    } catch (e) {
      if (e instanceof ExpansionError) throw dockerfileError(line, e.message);
      throw e;
    }
  }

  async run(): Promise<ImageRecord> {
    const tags = (typeof this.options.tag === 'string' ? [this.options.tag] : (this.options.tag ?? [])).map((t) => {
      try {
        return formatReference(parseReference(t));
      } catch (e) {
        throw new MayflyError('INVALID_OPTION', `tag ${t}: ${(e as Error).message}`, { hint: 'a name like app, app:dev or registry:5000/team/app:1' });
      }
    });
    this.resolveGlobals();
    const graph = stageGraph(this.dockerfile, (n) => this.globals[n], this.options.target);
    this.total = graph.order.reduce((n, i) => n + 1 + this.dockerfile.stages[i]!.instructions.length, 0);
    mkdirSync(this.scratch, { recursive: true, mode: 0o755 });
    try {
      // every needed stage starts now; each waits only for what it needs
      const all = graph.order.map((i) => this.stage(i));
      const settled = await Promise.allSettled(all);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof AbortedBuild));
      if (failed) throw failed.reason;
      const result = await this.stage(graph.target);
      const unused = Object.keys(this.options.buildArgs).filter((k) => !this.consumed.has(k) && !PREDEFINED.has(k));
      if (unused.length) this.warn(`build args not consumed by any ARG: ${unused.join(', ')}`);
      const config = { ...result.config, ...(Object.keys(this.options.labels).length ? { Labels: { ...(result.config.Labels ?? {}), ...this.options.labels } } : {}) };
      let record = writeImage(this.host.store, { layers: result.layers, config, history: result.history, created: result.created, source: 'built', ...(tags[0] ? { name: tags[0] } : {}) });
      for (const t of tags.slice(1)) record = this.host.store.save(record, t);
      return record;
    } finally {
      rmSync(this.scratch, { recursive: true, force: true });
    }
  }

  stage(index: number): Promise<StageResult> {
    let p = this.stages.get(index);
    if (!p) {
      p = this.buildStage(index).catch((e: unknown) => {
        if (!this.signal.aborted) this.abort.abort(new AbortedBuild());
        throw e;
      });
      p.catch(() => {}); // awaited by run(); a dependent stage sees it too
      this.stages.set(index, p);
    }
    return p;
  }

  image(ref: string): Promise<StageResult> {
    let p = this.images.get(ref);
    if (!p) {
      p = (async () => {
        if (ref === 'scratch') return { layers: [], config: {}, history: [], created: new Date(0).toISOString(), key: 'scratch' };
        let rec = this.options.pull ? undefined : this.host.store.find(ref);
        rec ??= await this.host.pull(ref);
        return { layers: rec.layers, config: structuredClone(rec.config.config ?? {}), history: [...(rec.config.history ?? [])], created: rec.config.created ?? new Date(0).toISOString(), key: rec.id };
      })();
      this.images.set(ref, p);
    }
    return p;
  }

  private checkAborted(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  private async buildStage(index: number): Promise<StageResult> {
    const def = this.dockerfile.stages[index]!;
    const st = new StageState(def.name ?? String(index), this.host.store, this.dockerfile.directives.escape);
    await this.from(st, def.from);
    const base = st.config.OnBuild ?? [];
    if (base.length) {
      st.config.OnBuild = null; // triggers run once, in the image built FROM this one
      for (const trigger of base) await this.instruction(st, onbuildInstruction(trigger, def.from.line));
    }
    for (const inst of def.instructions) {
      this.checkAborted();
      await this.instruction(st, inst);
    }
    for (const name of st.used) this.consumed.add(name);
    return st.result();
  }

  private async from(st: StageState, inst: FromInstruction): Promise<void> {
    const image = this.expandGlobal(inst.image, inst.line);
    if (inst.platform !== undefined) {
      const platform = this.expandGlobal(inst.platform, inst.line);
      let ok = false;
      try {
        ok = isHostPlatform(platform);
      } catch {
        throw dockerfileError(inst.line, `FROM --platform=${platform} is not a platform`, 'write os/arch, e.g. linux/amd64, or $BUILDPLATFORM');
      }
      if (!ok) throw dockerfileError(inst.line, `FROM --platform=${platform}: mayfly builds for this machine's platform (${platformArgs().TARGETPLATFORM}) only`, 'drop --platform, or use $BUILDPLATFORM / $TARGETPLATFORM');
    }
    this.step({ stage: st.label, text: inst.text, line: inst.line, cached: false, metadata: false });
    const earlier = this.dockerfile.stages.slice(0, this.dockerfile.stages.findIndex((s) => s.from === inst)).find((s) => s.name === image.toLowerCase());
    const base = earlier ? await this.stage(earlier.index) : await this.image(image).catch((e: unknown) => {
      throw Object.assign(e as Error, { message: `Dockerfile line ${inst.line}: FROM ${image}: ${(e as Error).message}` });
    });
    st.from(base);
  }

  private async instruction(st: StageState, inst: Instruction): Promise<void> {
    const announce = (cached: boolean, metadata: boolean) => this.step({ stage: st.label, text: inst.text, line: inst.line, cached, metadata });
    switch (inst.kind) {
      case 'ARG':
        for (const a of inst.args) {
          this.consumed.add(a.name);
          const given = this.options.buildArgs[a.name];
          st.args.set(a.name, given ?? (a.default !== undefined ? st.expand(a.default, inst.line) : this.globals[a.name]));
        }
        announce(false, true);
        st.note(inst.text, true);
        return;
      case 'RUN': {
        const prepared = await prepareRun(this, st, inst);
        try {
          await this.layerStep(st, inst, prepared.inputs, announce, () => prepared.make());
        } finally {
          await prepared.release();
        }
        return;
      }
      case 'COPY':
      case 'ADD': {
        const prepared = await prepareCopy(this, st, inst);
        try {
          await this.layerStep(st, inst, prepared.inputs, announce, () => prepared.make());
        } finally {
          await prepared.release();
        }
        return;
      }
      case 'WORKDIR': {
        const dir = st.absolute(st.expand(inst.value, inst.line)).replace(/(.)\/$/, '$1');
        st.config.WorkingDir = dir;
        // the directory is made when the image lacks it, owned by USER as in BuildKit
        const owner = st.config.User ? st.ids(st.config.User, inst.line, 'USER') : undefined;
        await this.layerStep(st, inst, { workdir: dir, owner: owner ?? null }, announce, () =>
          commitPlan(this, st, { parentLayers: st.layers.map((l) => this.host.store.layerPath(l.chainId)), from: { kind: 'dir', root: this.context.root }, items: [], dest: dir, destIsDir: true, ...(owner ? { owner } : {}) }),
        );
        return;
      }
      default:
        if (!st.applyMetadata(inst)) throw dockerfileError(inst.line, `${inst.kind} cannot be used here`);
        announce(false, true);
        st.note(inst.text, true);
    }
  }

  /** A step that may make a layer: looked up in the cache by its key, made on a miss. */
  private async layerStep(st: StageState, inst: Instruction, inputs: unknown, announce: (cached: boolean, metadata: boolean) => number, make: () => Promise<LayerRecord | null>): Promise<void> {
    const key = cacheKey(st.key, inputs);
    let entry = this.cache.get(key);
    const index = announce(Boolean(entry), false);
    if (!entry) {
      this.checkAborted();
      const t0 = performance.now();
      const layer = await make();
      entry = { layer, created: layer ? new Date().toISOString() : new Date(0).toISOString() };
      this.cache.put(key, entry);
      this.options.onStepEnd?.({ index, total: this.total, stage: st.label, text: inst.text, line: inst.line, cached: false, metadata: false, ms: performance.now() - t0 });
    }
    st.key = key;
    if (entry.layer) st.layers.push(entry.layer);
    if (entry.created > st.created) st.created = entry.created;
    st.note(inst.text, !entry.layer);
  }
}

/** Another stage failed: this one stopped. */
class AbortedBuild extends Error {
  constructor() {
    super('the build was stopped because another stage failed');
  }
}

function onbuildInstruction(trigger: string, line: number): Instruction {
  const parsed = parseDockerfile(`FROM scratch\n${trigger}\n`);
  const inst = parsed.stages[0]!.instructions[0];
  if (!inst) throw dockerfileError(line, `the base image's ONBUILD ${trigger} is empty`);
  return { ...inst, line, endLine: line, text: `ONBUILD ${inst.text}` } as Instruction;
}

/** Builds a Dockerfile into the store through the host's runtime. */
export async function buildImage(host: BuildHost, input: BuildOptions): Promise<ImageRecord> {
  const build = new Build(host, parseBuildOptions(input));
  return build.run();
}
