/**
 * One stage while it is built: its layers, its image config, history and cache key so far, the
 * ARGs it declared, and the instructions that only change the config (ENV, LABEL, USER, EXPOSE,
 * CMD, …) applied the way Docker applies them.
 */
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { envToRecord } from '../image/run-defaults.js';
import type { ImageConfigFile } from '../image/store/image-config.js';
import type { ImageStore, LayerRecord } from '../image/store/image-store.js';
import { resolveUser } from '../runtime/user.js';
import { dockerfileError } from './dockerfile/errors.js';
import { expandWord, expandWords, ExpansionError } from './dockerfile/expand.js';
import type { CommandForm, Instruction } from './dockerfile/instructions.js';

export type ImageConfig = NonNullable<ImageConfigFile['config']>;
export type History = NonNullable<ImageConfigFile['history']>;

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export interface StageResult {
  layers: LayerRecord[];
  config: ImageConfig;
  history: History;
  created: string;
  /** identifies the stage's filesystem and config: what a COPY --from of it is keyed by */
  key: string;
}

export class StageState implements StageResult {
  layers: LayerRecord[] = [];
  config: ImageConfig = {};
  history: History = [];
  created = new Date(0).toISOString();
  key = 'scratch';
  /** ARGs declared in this stage, with their values (undefined: declared, no value) */
  readonly args = new Map<string, string | undefined>();
  /** a CMD set in this stage: ENTRYPOINT then keeps it */
  cmdSet = false;
  /** variables expansion used, for the "not consumed" warning */
  readonly used = new Set<string>();

  constructor(
    readonly label: string,
    private readonly store: ImageStore,
    /** the Dockerfile's escape character (`# escape=`) */
    readonly escape: string = '\\',
  ) {}

  from(base: StageResult): void {
    this.layers = [...base.layers];
    this.config = structuredClone(base.config);
    this.history = [...base.history];
    this.created = base.created;
    this.key = base.key;
  }

  result(): StageResult {
    return { layers: this.layers, config: this.config, history: this.history, created: this.created, key: this.key };
  }

  env(): Record<string, string> {
    return envToRecord(this.config.Env);
  }

  /** What expansion sees: ENV wins over ARG of the same name, as in Docker. */
  lookup = (name: string): string | undefined => this.env()[name] ?? this.args.get(name);

  /** The environment of a RUN: the declared ARGs with values, then ENV. */
  runEnv(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.args) if (v !== undefined) out[k] = v;
    return { ...out, ...this.env() };
  }

  expand(text: string, line: number): string {
    try {
      return expandWord(text, this.lookup, this.escape, this.used);
    } catch (e) {
      if (e instanceof ExpansionError) throw dockerfileError(line, e.message);
      throw e;
    }
  }

  expandWords(text: string, line: number): string[] {
    try {
      return expandWords(text, this.lookup, this.escape, this.used);
    } catch (e) {
      if (e instanceof ExpansionError) throw dockerfileError(line, e.message);
      throw e;
    }
  }

  shell(): string[] {
    return this.config.Shell?.length ? this.config.Shell : DEFAULT_SHELL;
  }

  command(form: CommandForm): string[] {
    return 'exec' in form ? form.exec : [...this.shell(), form.shell];
  }

  workdir(): string {
    return this.config.WorkingDir || '/';
  }

  /** A path of a COPY destination or mount target: relative ones are under WORKDIR. */
  absolute(path: string): string {
    const abs = posix.isAbsolute(path) ? path : posix.join(this.workdir(), path);
    return posix.normalize(abs) + (path.endsWith('/') && abs !== '/' ? '/' : '');
  }

  /** A file of the image (/etc/passwd…), read from the topmost layer that has it. */
  imageFile(path: string): string {
    for (const l of [...this.layers].reverse()) {
      const p = join(this.store.layerPath(l.chainId), path);
      if (!existsSync(p)) continue;
      const st = lstatSync(p);
      if (st.isCharacterDevice()) return ''; // deleted by a whiteout
      if (st.isFile()) return readFileSync(p, 'utf8');
    }
    return '';
  }

  /** `user[:group]` → ids, names looked up in the image's /etc/passwd and /etc/group. */
  ids(spec: string, line: number, what: string): { uid: number; gid: number } {
    try {
      const u = resolveUser(spec, this.imageFile('etc/passwd'), this.imageFile('etc/group'));
      return { uid: u.uid, gid: u.gid };
    } catch (e) {
      throw dockerfileError(line, `${what}=${spec}: ${(e as Error).message.split('\n')[0]}`, 'create the user in an earlier RUN (useradd …), or give numeric ids');
    }
  }

  note(text: string, emptyLayer: boolean): void {
    this.history.push({ created_by: text, ...(emptyLayer ? { empty_layer: true } : {}), comment: 'mayfly build' });
  }

  /** Applies an instruction that only changes the config; false when it is not one. */
  applyMetadata(inst: Instruction): boolean {
    const c = this.config;
    switch (inst.kind) {
      case 'ENV': {
        const env = this.env();
        for (const [k, v] of inst.pairs) env[this.expand(k, inst.line)] = this.expand(v, inst.line);
        c.Env = Object.entries(env).map(([k, v]) => `${k}=${v}`);
        return true;
      }
      case 'LABEL': {
        const labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of inst.pairs) labels[this.expand(k, inst.line)] = this.expand(v, inst.line);
        c.Labels = labels;
        return true;
      }
      case 'USER':
        c.User = this.expand(inst.value, inst.line);
        return true;
      case 'STOPSIGNAL': {
        const sig = this.expand(inst.value, inst.line);
        if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/.test(sig)) throw dockerfileError(inst.line, `STOPSIGNAL ${sig} is not a signal`, 'write a name like SIGTERM or a number');
        c.StopSignal = sig;
        return true;
      }
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of this.expandWords(inst.ports, inst.line)) {
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535 || (m[2] && Number(m[2]) < Number(m[1]))) {
            throw dockerfileError(inst.line, `EXPOSE ${p} is not a port`, 'write EXPOSE 8080, EXPOSE 53/udp or EXPOSE 8000-8010');
          }
          const proto = (m[3] ?? 'tcp').toLowerCase();
          for (let n = Number(m[1]); n <= Number(m[2] ?? m[1]); n++) ports[`${n}/${proto}`] = {};
        }
        c.ExposedPorts = ports;
        return true;
      }
      case 'VOLUME': {
        const volumes = { ...(c.Volumes ?? {}) };
        for (const p of inst.paths) {
          const v = this.expand(p, inst.line);
          if (!v) throw dockerfileError(inst.line, 'VOLUME with an empty path');
          volumes[this.absolute(v).replace(/(.)\/$/, '$1')] = {};
        }
        c.Volumes = volumes;
        return true;
      }
      case 'CMD':
        c.Cmd = this.command(inst.command);
        this.cmdSet = true;
        return true;
      case 'ENTRYPOINT':
        c.Entrypoint = this.command(inst.command);
        if (!this.cmdSet) c.Cmd = null; // an inherited CMD does not go with a new ENTRYPOINT
        return true;
      case 'SHELL':
        c.Shell = inst.shell;
        return true;
      case 'HEALTHCHECK': {
        if (inst.test === 'NONE') {
          c.Healthcheck = { Test: ['NONE'] };
          return true;
        }
        const o = inst.options;
        c.Healthcheck = {
          Test: 'exec' in inst.test ? ['CMD', ...inst.test.exec] : ['CMD-SHELL', inst.test.shell],
          ...(o.interval !== undefined ? { Interval: o.interval } : {}),
          ...(o.timeout !== undefined ? { Timeout: o.timeout } : {}),
          ...(o.startPeriod !== undefined ? { StartPeriod: o.startPeriod } : {}),
          ...(o.startInterval !== undefined ? { StartInterval: o.startInterval } : {}),
          ...(o.retries !== undefined ? { Retries: o.retries } : {}),
        };
        return true;
      }
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), inst.trigger];
        return true;
      case 'MAINTAINER':
        return true; // deprecated: only in the history
      default:
        return false;
    }
  }
}
