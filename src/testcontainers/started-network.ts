/** A network made by `new Network().start()`; `stop()` removes it (it also goes with this process). */
import type { StartedNetwork as HarnessNetwork } from '../harness/network.js';
import { StoppedNetwork } from './stopped-network.js';

export class StartedNetwork implements AsyncDisposable {
  /** @internal */
  constructor(private readonly network: HarnessNetwork) {}

  getId(): string {
    return this.network.record.id;
  }

  getName(): string {
    return this.network.name;
  }

  async stop(): Promise<StoppedNetwork> {
    await this.network.remove();
    return new StoppedNetwork();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
