/** A container after `stop()`: its id, and (not yet) its files. */
import { MayflyError } from '../core/errors.js';
import type { StartedContainer } from '../harness/started-container.js';
import type { StoppedTestContainer } from './test-container.js';

export class StoppedGenericContainer implements StoppedTestContainer {
  /** @internal */
  constructor(
    private readonly mayfly: StartedContainer,
    private readonly removed: boolean,
  ) {}

  getId(): string {
    return this.mayfly.id;
  }

  /** Not supported: a mayfly container's root filesystem is mounted only while it runs. */
  async copyArchiveFromContainer(path: string): Promise<NodeJS.ReadableStream> {
    if (this.removed) throw new MayflyError('CONTAINER_NOT_FOUND', `copyArchiveFromContainer(${path}): ${this.mayfly.name} was removed when it stopped`, { hint: 'copy before stop(), or stop({ remove: false })' });
    throw new MayflyError('UNSUPPORTED', `copyArchiveFromContainer(${path}): mayfly copies out of running containers only (a stopped one's root filesystem is not mounted)`, {
      hint: 'copy before stop(): container.copyArchiveFromContainer(path)',
    });
  }
}
