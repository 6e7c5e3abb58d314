/**
 * What a preset returns: the started container itself (every verb of StartedContainer — `exec`,
 * `logs`, `stop`, `await using` …) with the service's own helpers added by each preset.
 */
import { StartedContainer } from '../harness/started-container.js';

export class StartedService extends StartedContainer {
  /** @internal */
  constructor(private readonly started: StartedContainer) {
    super(started.container, started.reused, () => {}, started.initSnapshot);
  }

  /** `host:port` of a published port, with brackets around an IPv6 host. */
  protected address(containerPort: number): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${host}:${this.port(containerPort)}`;
  }

  override async remove(): Promise<void> {
    await super.remove();
    // the harness's own handle also cleans up what it staged for the start (copies)
    await this.started.remove();
  }
}
