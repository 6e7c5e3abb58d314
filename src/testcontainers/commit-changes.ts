/**
 * `commit({ changes })`: Dockerfile instructions applied to the committed image's configuration,
 * as `docker commit --change` applies them (ENV, LABEL, CMD, ENTRYPOINT, USER, WORKDIR, EXPOSE,
 * VOLUME, STOPSIGNAL); anything that would build (RUN, COPY…) is refused, naming the change.
 */
import { MayflyError } from '../core/errors.js';
import { parseDockerfile } from '../dockerfile/dockerfile/parse.js';
import type { CommandForm } from '../dockerfile/dockerfile/instructions.js';
import type { ImageConfigFile } from '../image/store/image-config.js';
import type { ContainerSpec } from '../model/container-spec.js';

type Config = NonNullable<ImageConfigFile['config']>;

/** a command as the image config holds it: the shell form run by /bin/sh -c, as Docker does */
function argv(c: CommandForm): string[] {
  return 'exec' in c ? c.exec : ['/bin/sh', '-c', c.shell];
}

export function configChanges(changes: string[], spec: Pick<ContainerSpec, 'env' | 'labels'>): Config {
  if (!changes.length) return {};
  let instructions;
  try {
    // the parser wants a FROM first: one is put before the changes, and taken off again
    instructions = parseDockerfile(`FROM scratch\n${changes.join('\n')}`).stages[0]!.instructions;
  } catch (e) {
    throw new MayflyError('INVALID_OPTION', `commit: ${(e as Error).message.replace(/(Dockerfile )?line (\d+)/, (_m, _d: string, n: string) => `changes[${Number(n) - 2}]`)}`);
  }
  const env = { ...spec.env };
  const labels = Object.fromEntries(Object.entries(spec.labels).filter(([k]) => !k.startsWith('mayfly.')));
  const out: Config = {};
  for (const i of instructions) {
    switch (i.kind) {
      case 'ENV':
        for (const [k, v] of i.pairs) env[k] = v;
        out.Env = Object.entries(env).map(([k, v]) => `${k}=${v}`);
        break;
      case 'LABEL':
        for (const [k, v] of i.pairs) labels[k] = v;
        out.Labels = { ...labels };
        break;
      case 'CMD':
        out.Cmd = argv(i.command);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = argv(i.command);
        break;
      case 'USER':
        out.User = i.value;
        break;
      case 'WORKDIR':
        out.WorkingDir = i.value;
        break;
      case 'STOPSIGNAL':
        out.StopSignal = i.value;
        break;
      case 'EXPOSE':
        out.ExposedPorts = { ...out.ExposedPorts, ...Object.fromEntries(i.ports.split(/\s+/).filter(Boolean).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) };
        break;
      case 'VOLUME':
        out.Volumes = { ...out.Volumes, ...Object.fromEntries(i.paths.map((p) => [p, {}])) };
        break;
      default:
        throw new MayflyError('INVALID_OPTION', `commit: changes[${i.line - 2}]: ${i.kind} cannot be applied by a commit (only ENV, LABEL, CMD, ENTRYPOINT, USER, WORKDIR, EXPOSE, VOLUME, STOPSIGNAL)`);
    }
  }
  return out;
}
