/**
 * The stage graph of a multi-stage Dockerfile: which stage each FROM, `COPY --from` and
 * `RUN --mount=from=` names (an earlier stage's name for FROM; any stage's name or index for
 * --from; anything else is an image), the target (`--target`, else the last stage), and the stages
 * it needs — the others are skipped. A stage that needs itself, directly or not, is an error naming
 * the lines; independent stages can be built side by side.
 */
import { dockerfileError } from './dockerfile/errors.js';
import { expandWord, ExpansionError, type Lookup } from './dockerfile/expand.js';
import { parseMount } from './dockerfile/mounts.js';
import type { Dockerfile, StageDefinition } from './dockerfile/parse.js';
import { MayflyError } from '../core/errors.js';

export interface StageNode {
  stage: StageDefinition;
  /** FROM an earlier stage: its index */
  base?: number;
  /** the image FROM names, expanded (when not a stage) */
  image?: string;
  /** stages this one copies or mounts from, with the line that names each */
  uses: Map<number, number>;
}

export interface StageGraph {
  nodes: StageNode[];
  target: number;
  /** the stages the target needs (itself included), each after what it needs */
  order: number[];
}

/** Looks up a `--from` value: a stage index, a stage name, or undefined (an image). */
export function stageByRef(df: Dockerfile, ref: string): number | undefined {
  if (/^\d+$/.test(ref)) return Number(ref);
  const lower = ref.toLowerCase();
  return df.stages.find((s) => s.name === lower)?.index;
}

function expand(text: string, lookup: Lookup, line: number): string {
  try {
    return expandWord(text, lookup);
  } catch (e) {
    if (e instanceof ExpansionError) throw dockerfileError(line, e.message);
    throw e;
  }
}

export function stageGraph(df: Dockerfile, globalLookup: Lookup, target?: string): StageGraph {
  const nodes: StageNode[] = df.stages.map((stage) => {
    const image = expand(stage.from.image, globalLookup, stage.from.line);
    if (!image) throw dockerfileError(stage.from.line, `FROM ${stage.from.image} names no image (the variable is empty)`, 'give the ARG a default, or pass --build-arg');
    const earlier = df.stages.slice(0, stage.index).find((s) => s.name === image.toLowerCase());
    const uses = new Map<number, number>();
    const use = (ref: string, line: number) => {
      const i = stageByRef(df, ref);
      if (i === undefined) return;
      if (i >= df.stages.length) throw dockerfileError(line, `--from=${ref}: there is no stage ${ref} (stages are numbered from 0; this file has ${df.stages.length})`, 'name an existing stage, or an image');
      if (!uses.has(i)) uses.set(i, line);
    };
    for (const inst of stage.instructions) {
      if ((inst.kind === 'COPY' || inst.kind === 'ADD') && inst.from) use(expand(inst.from, globalLookup, inst.line), inst.line);
      if (inst.kind === 'RUN') {
        for (const m of inst.mounts) {
          const mount = parseMount(expand(m, globalLookup, inst.line), inst.line);
          if ((mount.type === 'bind' || mount.type === 'cache') && mount.from) use(mount.from, inst.line);
        }
      }
    }
    return { stage, ...(earlier ? { base: earlier.index } : { image }), uses };
  });

  let targetIndex = df.stages.length - 1;
  if (target !== undefined) {
    const found = df.stages.find((s) => s.name === target.toLowerCase());
    if (!found) {
      const names = df.stages.map((s) => s.name).filter(Boolean);
      throw new MayflyError('INVALID_OPTION', `--target ${target}: the Dockerfile has no stage named ${target}`, {
        hint: names.length ? `its stages are ${names.join(', ')}` : 'its stages have no names: add AS name to a FROM line',
      });
    }
    targetIndex = found.index;
  }

  // depth-first from the target: a stage met again while still open is a cycle
  const order: number[] = [];
  const state = new Map<number, 'open' | 'done'>();
  const path: { index: number; line: number }[] = [];
  const label = (i: number) => (df.stages[i]!.name ? `"${df.stages[i]!.name}"` : `${i}`);
  const visit = (i: number, line: number) => {
    const s = state.get(i);
    if (s === 'done') return;
    if (s === 'open') {
      const from = path.findIndex((p) => p.index === i);
      const cycle = [...path.slice(from), { index: i, line }];
      const text = cycle
        .slice(1)
        .map((c, k) => `stage ${label(cycle[k]!.index)} needs stage ${label(c.index)} (line ${c.line})`)
        .join(', ');
      throw dockerfileError(line, `a cycle of stages: ${text}`, 'a stage cannot copy from itself or from a stage that builds on it');
    }
    state.set(i, 'open');
    path.push({ index: i, line });
    const n = nodes[i]!;
    if (n.base !== undefined) visit(n.base, n.stage.from.line);
    for (const [dep, depLine] of n.uses) visit(dep, depLine);
    path.pop();
    state.set(i, 'done');
    order.push(i);
  };
  visit(targetIndex, df.stages[targetIndex]!.from.line);
  return { nodes, target: targetIndex, order };
}
