/** `mayfly inspect`: containers, images, networks and volumes by name or ID, in Docker's shape, as JSON or through a Go template. */
import { join } from 'node:path';
import { isMayflyError, MayflyError } from '../core/errors.js';
import { mayflyHome } from '../core/paths.js';
import { containerDocument, imageDocument, volumeDocument } from '../engine/docker-inspect.js';
import { LocalImages } from '../engine/images.js';
import { runningKeeper } from '../keeper/info.js';
import { listStates } from '../model/container-state.js';
import { hostPidOf } from '../runtime/process-tree.js';
import { layoutOf, type Layout } from '../model/layout.js';
import type { ParsedCommand } from './command-line/definition.js';
import { text } from './command-line/values.js';
import { findContainer } from './containers.js';
import { renderDocuments } from './output/listing.js';

type Kind = 'container' | 'image' | 'network' | 'volume';

/** The network documents list the containers attached now (in any sandbox of this home). */
async function networkDoc(l: Layout, ref: string): Promise<Record<string, unknown>> {
  const { findNetwork, networkDocumentOf } = await import('../engine/network-documents.js');
  return networkDocumentOf(l, findNetwork(l, ref));
}

async function find(ref: string, kinds: Kind[]): Promise<unknown> {
  const l = layoutOf(mayflyHome());
  for (const kind of kinds) {
    try {
      if (kind === 'container') {
        const c = findContainer(ref);
        // the record has PID 1 as the keeper's sandbox numbers it; Docker shows the host's
        const sandboxPid = c.pid !== undefined ? runningKeeper()?.sandboxPid : undefined;
        const pid = sandboxPid !== undefined ? (hostPidOf(c.pid!, sandboxPid) ?? 0) : 0;
        return containerDocument({ ...c, ...(c.pid !== undefined ? { pid } : {}) }, c.dir, (v) => join(l.volumes, v, '_data'));
      }
      if (kind === 'image') return imageDocument(new LocalImages().inspect(ref));
      if (kind === 'network') return await networkDoc(l, ref);
      const { inspectVolume } = await import('../runtime/volumes.js');
      return volumeDocument(inspectVolume(l, ref));
    } catch (e) {
      if (!isMayflyError(e)) throw e;
    }
  }
  throw new MayflyError('CONTAINER_NOT_FOUND', `no such ${kinds.length === 1 ? kinds[0] : 'object'}: ${ref}`, {
    hint: kinds.length === 1 ? undefined : 'not a container, image, network or volume of this MAYFLY_HOME',
  });
}

/** Like Docker: every document found is printed, each missing one named on stderr, exit 1 if any was missing. */
async function inspect(kinds: Kind[], { flags, args }: ParsedCommand): Promise<number> {
  const docs: unknown[] = [];
  let failed = 0;
  for (const ref of args) {
    try {
      docs.push(await find(ref, kinds));
    } catch (e) {
      failed++;
      process.stderr.write(`mayfly: ${(e as Error).message}\n`);
    }
  }
  if (docs.length || !failed) process.stdout.write(renderDocuments(docs, text(flags, 'format')));
  return failed ? 1 : 0;
}

export const inspectCommand = (cmd: ParsedCommand) => {
  const type = text(cmd.flags, 'type') as Kind | undefined;
  return inspect(type ? [type] : ['container', 'image', 'network', 'volume'], cmd);
};
export const containerInspectCommand = (cmd: ParsedCommand) => inspect(['container'], cmd);
export const imageInspectCommand = (cmd: ParsedCommand) => inspect(['image'], cmd);
export const networkInspectCommand = (cmd: ParsedCommand) => inspect(['network'], cmd);
export const volumeInspectCommand = (cmd: ParsedCommand) => inspect(['volume'], cmd);
