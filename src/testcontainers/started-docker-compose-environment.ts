/** A started compose project: its containers by name (`redis-1`), `stop()` and `down()`. */
import { MayflyError } from '../core/errors.js';
import { DownedDockerComposeEnvironment } from './downed-docker-compose-environment.js';
import type { StartedGenericContainer } from './started-generic-container.js';
import { StoppedDockerComposeEnvironment } from './stopped-docker-compose-environment.js';
import type { ComposeDownOptions } from './types.js';

export class StartedDockerComposeEnvironment implements AsyncDisposable {
  /** @internal */
  constructor(
    private readonly startedGenericContainers: { [containerName: string]: StartedGenericContainer },
    private readonly downProject: (removeVolumes: boolean) => Promise<void>,
  ) {}

  /** Stops every container (they stay until down()). */
  async stop(): Promise<StoppedDockerComposeEnvironment> {
    await Promise.all(Object.values(this.startedGenericContainers).map((c) => c.stop({ remove: false })));
    return new StoppedDockerComposeEnvironment(this.downProject);
  }

  /** Removes the containers and the networks; the named volumes too unless `removeVolumes: false`. */
  async down(options: Partial<ComposeDownOptions> = {}): Promise<DownedDockerComposeEnvironment> {
    await this.downProject(options.removeVolumes ?? true);
    return new DownedDockerComposeEnvironment();
  }

  getContainer(containerName: string): StartedGenericContainer {
    const container = this.startedGenericContainers[containerName];
    if (!container) {
      throw new MayflyError('CONTAINER_NOT_FOUND', `Cannot get container "${containerName}" as it is not running`, {
        hint: `running: ${Object.keys(this.startedGenericContainers).join(', ') || 'none'} (names are "service-1" or a container_name)`,
      });
    }
    return container;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}
