/** `new Network().start()`: a private network; containers on it reach each other by name and alias. */
import { network as harnessNetwork } from '../harness/network.js';
import { StartedNetwork } from './started-network.js';
import { RandomUuid, type Uuid } from './uuid.js';

export class Network {
  constructor(private readonly uuid: Uuid = new RandomUuid()) {}

  async start(): Promise<StartedNetwork> {
    return new StartedNetwork(await harnessNetwork({ name: this.uuid.nextUuid() }));
  }
}
