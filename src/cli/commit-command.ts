/** `mayfly commit`: a container's changes as a new image (in the keeper, where the container is). */
import { MayflyError } from '../core/errors.js';
import { parseChanges } from '../dockerfile/commit-changes.js';
import { keeper } from '../keeper/client.js';
import type { ParsedCommand } from './command-line/definition.js';
import { list, text } from './command-line/values.js';
import { findContainer } from './containers.js';

export async function commitCommand({ flags, args }: ParsedCommand): Promise<number> {
  const [ref, name] = args as [string, string | undefined];
  const changes = list(flags, 'change');
  parseChanges(changes); // a wrong instruction is named before anything is done
  const c = findContainer(ref);
  if (!c.imageId) throw new MayflyError('INVALID_OPTION', `container ${c.name} was not made from an image (--rootfs): there is nothing to commit onto`);
  const message = text(flags, 'message');
  const author = text(flags, 'author');
  const { id } = await (await keeper()).request<{ id: string }>({
    op: 'commit',
    container: c.id,
    ...(name ? { name } : {}),
    changes,
    ...(message ? { comment: message } : {}),
    ...(author ? { author } : {}),
    pause: flags.pause !== false,
  });
  process.stdout.write(`${id}\n`);
  return 0;
}
