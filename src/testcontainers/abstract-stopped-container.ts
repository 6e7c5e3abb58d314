/** The base of a module's stopped container: passed on to the stopped container it wraps. */
import type { StoppedTestContainer } from './test-container.js';

export class AbstractStoppedContainer implements StoppedTestContainer {
  constructor(protected readonly stoppedTestContainer: StoppedTestContainer) {}

  getId(): string {
    return this.stoppedTestContainer.getId();
  }

  copyArchiveFromContainer(path: string): Promise<NodeJS.ReadableStream> {
    return this.stoppedTestContainer.copyArchiveFromContainer(path);
  }
}
