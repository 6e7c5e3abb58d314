/**
 * `mayfly/jest-environment`: Jest's node environment, plus containers. One instance per test file
 * (Jest's model): `setup()` starts the services the file asks for, side by side, and exposes them as
 * `mayfly.services.<name>` (started containers: `host`, `port(n)`, `url(n)`, `exec`, `logs`, ...)
 * on the test's global object; `teardown()` removes them. The services started once for the run by
 * `mayfly/jest-global-setup` are there too, as `mayfly.shared.<name>` (`host`, `port(n)`, `url(n)`).
 *
 * ```js
 * // jest.config.js
 * testEnvironment: 'mayfly/jest-environment',
 * testEnvironmentOptions: { mayfly: { services: { redis: { image: 'redis:7', exposedPorts: [6379] } } } },
 * ```
 * A test file names what it needs in its docblock (`@mayfly redis`); without one it gets every
 * service of `services`. `@jest-environment-options {"mayfly": {"services": {...}}}` defines some
 * for that file alone (Jest merges it into testEnvironmentOptions).
 *
 * A worker that crashes or is killed takes its containers with it: its sandbox removes them.
 */
import { TestEnvironment } from 'jest-environment-node';
import { MayflyError } from '../core/errors.js';
import type { HarnessOptions } from '../harness/options.js';
import type { StartedContainer } from '../harness/started-container.js';
import { OPTIONS_PATH, readJestOptions, servicesForFile, SHARED_ENV, sharedFromEnv } from './jest-options.js';
import { ServiceEndpoint } from './service-endpoint.js';
import { removeServices, startServices } from './start-services.js';

export { ServiceEndpoint, type ServiceRecord } from './service-endpoint.js';
export type { JsonService, JsonWait } from './json-service.js';

type EnvironmentConfig = ConstructorParameters<typeof TestEnvironment>[0];
type EnvironmentContext = ConstructorParameters<typeof TestEnvironment>[1];

/** What a test file sees as `mayfly`. */
export interface MayflyJestGlobal {
  /** this file's own containers, by service name */
  services: Record<string, StartedContainer>;
  /** the run's shared services (mayfly/jest-global-setup), by name */
  shared: Record<string, ServiceEndpoint>;
}

declare global {
  /** mayfly/jest-environment's containers for this test file */
  // eslint-disable-next-line no-var
  var mayfly: MayflyJestGlobal;
}

export class MayflyEnvironment extends TestEnvironment {
  private readonly wanted: Record<string, HarnessOptions>;
  private readonly shared: Record<string, ServiceEndpoint>;
  private readonly testPath: string;
  private started: StartedContainer[] = [];

  constructor(config: EnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.testPath = context.testPath;
    // everything is checked here, before setup(): a mistake fails the file before anything starts
    const options = readJestOptions(config.projectConfig.testEnvironmentOptions);
    const names = servicesForFile(context.docblockPragmas, options, context.testPath);
    this.wanted = Object.fromEntries(names.map((n) => [n, options.services[n]!]));
    const records = sharedFromEnv();
    const missing = Object.keys(options.shared).filter((n) => !records[n]);
    if (missing.length) {
      throw new MayflyError('INVALID_OPTION', `${OPTIONS_PATH}.shared defines ${missing.join(', ')}, but no globalSetup started ${missing.length > 1 ? 'them' : 'it'}`, {
        hint: "add globalSetup: 'mayfly/jest-global-setup' and globalTeardown: 'mayfly/jest-global-teardown' to the Jest config",
      });
    }
    this.shared = Object.fromEntries(Object.entries(records).map(([n, r]) => [n, new ServiceEndpoint(n, r)]));
  }

  override async setup(): Promise<void> {
    await super.setup();
    let services: Record<string, StartedContainer>;
    try {
      services = await startServices(this.wanted);
    } catch (e) {
      if (e instanceof Error) e.message = `mayfly/jest-environment (${this.testPath}): ${e.message}`;
      throw e;
    }
    this.started = Object.values(services);
    const global: MayflyJestGlobal = { services, shared: this.shared };
    this.global.mayfly = global;
  }

  override async teardown(): Promise<void> {
    const started = this.started;
    this.started = [];
    try {
      await removeServices(started);
    } finally {
      await super.teardown();
    }
  }
}

export { SHARED_ENV };
export default MayflyEnvironment;
