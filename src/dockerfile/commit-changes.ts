/**
 * `docker commit --change 'CMD ["app"]'`: Dockerfile instructions applied to the committed image's
 * config exactly as a build applies them (stage-state.ts: ENV and LABEL merge, EXPOSE and VOLUME
 * add, ENTRYPOINT drops the CMD, the rest replace). The instructions Docker's commit accepts.
 */
import { MayflyError } from '../core/errors.js';
import type { ImageStore } from '../image/store/image-store.js';
import { parseDockerfile } from './dockerfile/parse.js';
import type { Instruction } from './dockerfile/instructions.js';
import { StageState, type ImageConfig } from './stage-state.js';

export type { ImageConfig } from './stage-state.js';

const ACCEPTED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL'];

const invalid = (change: string, why: string) => new MayflyError('INVALID_OPTION', `invalid value "${change}" for -c, --change: ${why}`);

/** Each change as an instruction; a wrong one is named with what is accepted. */
export function parseChanges(changes: string[]): Instruction[] {
  return changes.map((change) => {
    const op = /^\s*(\S+)/.exec(change)?.[1]?.toUpperCase() ?? '';
    if (!ACCEPTED.includes(op)) throw invalid(change, `${op ? `${op} cannot be changed by commit` : 'an empty instruction'} (accepted: ${ACCEPTED.join(', ')})`);
    let inst: Instruction | undefined;
    try {
      inst = parseDockerfile(`FROM scratch\n${change.replace(/\n/g, ' ')}`).stages[0]?.instructions[0];
    } catch (e) {
      throw invalid(change, (e as Error).message.replace(/^Dockerfile line \d+: /, '').split('\n')[0]!);
    }
    if (!inst) throw invalid(change, 'not an instruction');
    return inst;
  });
}

/** The config with the changes applied in order (`store`: where USER or WORKDIR would look; nothing is read for these). */
export function applyChanges(config: ImageConfig, changes: Instruction[], store: ImageStore): ImageConfig {
  const stage = new StageState('commit', store);
  stage.config = structuredClone(config);
  for (const c of changes) {
    try {
      // WORKDIR is a build step there (it makes the directory); here it only sets the config
      if (c.kind === 'WORKDIR') stage.config.WorkingDir = stage.absolute(stage.expand(c.value, c.line));
      else stage.applyMetadata(c);
    } catch (e) {
      throw invalid(c.text, (e as Error).message.replace(/^Dockerfile line \d+: /, '').split('\n')[0]!);
    }
  }
  return stage.config;
}
