/**
 * A Dockerfile → its parser directives, the ARGs before the first FROM, and its stages (each a FROM
 * and the instructions up to the next FROM). Structure errors name the line; variables are left for
 * the build to expand.
 */
import type { Directives } from './directives.js';
import { dockerfileError } from './errors.js';
import { parseInstruction, type ArgInstruction, type FromInstruction, type Instruction } from './instructions.js';
import { lexDockerfile } from './lexer.js';
import { parseMount } from './mounts.js';

export interface StageDefinition {
  /** position among the stages, from 0 (what `COPY --from=0` names) */
  index: number;
  /** `FROM … AS name`, lower case */
  name?: string;
  from: FromInstruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Directives;
  /** ARGs before the first FROM: usable in FROM lines, and by stages that declare them again */
  globalArgs: ArgInstruction[];
  stages: StageDefinition[];
  warnings: string[];
}

export function parseDockerfile(text: string): Dockerfile {
  const lexed = lexDockerfile(text);
  const escape = lexed.directives.escape;
  const globalArgs: ArgInstruction[] = [];
  const stages: StageDefinition[] = [];
  const names = new Map<string, number>();
  for (const raw of lexed.instructions) {
    const inst = parseInstruction(raw, escape);
    if (inst.kind === 'FROM') {
      if (inst.stageName) {
        const earlier = names.get(inst.stageName);
        if (earlier !== undefined) throw dockerfileError(inst.line, `the stage name "${inst.stageName}" is already used at line ${earlier}`, 'give each stage its own name');
        names.set(inst.stageName, inst.line);
      }
      stages.push({ index: stages.length, ...(inst.stageName ? { name: inst.stageName } : {}), from: inst, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (inst.kind !== 'ARG') throw dockerfileError(inst.line, `${inst.kind} comes before the first FROM`, 'only ARG may come before FROM; start the build with FROM image');
      globalArgs.push(inst);
      continue;
    }
    // mount specs without variables are checked now, before anything runs
    if (inst.kind === 'RUN') for (const m of inst.mounts) if (!m.includes('$')) parseMount(m, inst.line);
    stage.instructions.push(inst);
  }
  if (!stages.length) throw dockerfileError(lexed.instructions[lexed.instructions.length - 1]?.line ?? 1, 'the Dockerfile has no FROM', 'start the build with FROM image (or FROM scratch)');
  return { directives: lexed.directives, globalArgs, stages, warnings: lexed.warnings };
}
