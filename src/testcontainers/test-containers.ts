/**
 * `TestContainers.exposeHostPorts(port…)`: a service on the host's loopback (a test's own HTTP stub,
 * say) made reachable from the containers started afterwards as `host.testcontainers.internal:PORT`
 * (also host.mayfly.internal) — those ports only, on any network, without outbound access.
 */
import { exposeHostPorts } from '../harness/host-ports.js';

export class TestContainers {
  static async exposeHostPorts(...ports: number[]): Promise<void> {
    await exposeHostPorts(...ports);
  }
}
