/** A compose project whose containers are stopped: `down()` removes them. */
import { DownedDockerComposeEnvironment } from './downed-docker-compose-environment.js';
import type { ComposeDownOptions } from './types.js';

export class StoppedDockerComposeEnvironment {
  /** @internal */
  constructor(private readonly downProject: (removeVolumes: boolean) => Promise<void>) {}

  async down(options: Partial<ComposeDownOptions> = {}): Promise<DownedDockerComposeEnvironment> {
    await this.downProject(options.removeVolumes ?? true);
    return new DownedDockerComposeEnvironment();
  }
}
