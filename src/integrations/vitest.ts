/**
 * `mayfly/vitest`: containers for Vitest, in the two shapes Vitest offers.
 *
 * - Fixtures (`test.extend`): a container per test, per file or per worker, started when a test asks
 *   for it and removed after. Mutable services (a database a test writes to) belong here: every
 *   worker has its own, so files running side by side never see each other's data.
 * - Services started once for the whole run by a globalSetup (`mayfly/vitest-global-setup`),
 *   their connection details handed to every worker with `provide`: `mayflyService(name)` reads them
 *   back in a test. Read-only or shared services belong there.
 *
 * Whatever a run leaves, however it ends (Ctrl-C, a crashed worker), its process's sandbox removes
 * when that process is gone; `reuse: true` (`withReuse()`) is the one way to keep a container for the
 * next run.
 */
import { inject, test, type TestAPI } from 'vitest';
import { MayflyError } from '../core/errors.js';
import type { StartedContainer } from '../harness/started-container.js';
import { ServiceEndpoint, type ServiceRecord } from './service-endpoint.js';
import { startService, type ServiceSource } from './start-services.js';
import { PROVIDED_KEY, type MayflyGlobalSetup } from './vitest-global-setup.js';

export { ServiceEndpoint, type JsonValue, type ServiceRecord } from './service-endpoint.js';
export type { ServiceSource } from './start-services.js';
export type { MayflyGlobalSetup, SharedService } from './vitest-global-setup.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** services started by `mayflyGlobalSetup`, by name */
    mayfly: Record<string, ServiceRecord>;
  }
}

export type FixtureScope = 'test' | 'file' | 'worker';

export interface FixtureOptions {
  /**
   * When a container is started and removed: for every test that uses it (default), once per test
   * file, or once per worker (with the default `isolate: true` a worker runs a single file, so this
   * is the same as `file` there).
   */
  scope?: FixtureScope;
}

type Use<T> = (value: T) => Promise<void>;
type ContainerFixture = [(context: object, use: Use<StartedContainer>) => Promise<void>, { scope: FixtureScope }];

/** The fixtures `mayflyFixtures` gives: one started container per name. */
export type ContainerFixtures<S> = { [K in keyof S]: ContainerFixture };

/** What a test's context holds for `mayflyFixtures(services)`: `{ [name]: StartedContainer }`. */
export type ContainerContext<S> = { [K in keyof S]: StartedContainer };

/**
 * Fixtures for `test.extend`, one per service: the container is started when a test first asks for
 * it (by destructuring its name) and removed once its scope ends.
 *
 * ```ts
 * const test = base.extend<ContainerContext<typeof services>>(mayflyFixtures(services, { scope: 'file' }));
 * ```
 * or, without naming the types, `const test = mayflyTest(services, { scope: 'file' })`.
 */
export function mayflyFixtures<const S extends Record<string, ServiceSource>>(services: S, opts: FixtureOptions = {}): ContainerFixtures<S> {
  const scope = opts.scope ?? 'test';
  if (!['test', 'file', 'worker'].includes(scope)) {
    throw new MayflyError('INVALID_OPTION', `mayflyFixtures: scope must be 'test', 'file' or 'worker', got ${JSON.stringify(scope)}`);
  }
  const fixtures: Record<string, ContainerFixture> = {};
  for (const [name, source] of Object.entries(services)) {
    // Vitest reads a fixture's dependencies from its first parameter, which must be a destructuring pattern
    // eslint-disable-next-line no-empty-pattern
    const fixture = async ({}: object, use: Use<StartedContainer>): Promise<void> => {
      const c = await startService(name, source);
      try {
        await use(c);
      } finally {
        await c.remove();
      }
    };
    fixtures[name] = [fixture, { scope }];
  }
  return fixtures as ContainerFixtures<S>;
}

/**
 * Vitest's `test` with a fixture per service (`mayflyFixtures`), typed: a test asks for a container by
 * destructuring its name. `opts.test` extends a test of your own instead of Vitest's.
 *
 * ```ts
 * const test = mayflyTest({ redis: container('redis:7').withExposedPorts(6379) }, { scope: 'file' });
 * test('counts', async ({ redis }) => { ... redis.port(6379) ... });
 * ```
 */
export function mayflyTest<const S extends Record<string, ServiceSource>, C extends object = object>(
  services: S,
  opts: FixtureOptions & { test?: TestAPI<C> } = {},
): TestAPI<C & ContainerContext<S>> {
  const base = (opts.test ?? test) as TestAPI<C>;
  return base.extend<ContainerContext<S>>(mayflyFixtures(services, opts) as never) as unknown as TestAPI<C & ContainerContext<S>>;
}

type NamesOf<T> = T extends MayflyGlobalSetup<infer N> ? N : T extends string ? T : string;

/**
 * In a test: a service `mayflyGlobalSetup` (mayfly/vitest-global-setup) started, by name.
 * `mayflyService<typeof setup>('api')`, with `import type setup from './global-setup'`, checks the
 * name at compile time.
 */
export function mayflyService<T = string>(name: NamesOf<T>): ServiceEndpoint {
  const all = provided();
  const record = all[name];
  if (!record) {
    const known = Object.keys(all);
    throw new MayflyError('INVALID_OPTION', `mayflyService: no service ${JSON.stringify(name)} was started by mayflyGlobalSetup`, {
      hint: known.length
        ? `its services: ${known.join(', ')}`
        : "add a file whose default export is mayflyGlobalSetup({...}) (from 'mayfly/vitest-global-setup') to test.globalSetup in the Vitest config",
    });
  }
  return new ServiceEndpoint(name, record);
}

/** In a test: every service `mayflyGlobalSetup` started, by name. */
export function mayflyServices<T = string>(): Record<NamesOf<T>, ServiceEndpoint> {
  return Object.fromEntries(Object.entries(provided()).map(([name, r]) => [name, new ServiceEndpoint(name, r)])) as Record<NamesOf<T>, ServiceEndpoint>;
}

function provided(): Record<string, ServiceRecord> {
  return (inject(PROVIDED_KEY) as Record<string, ServiceRecord> | undefined) ?? {};
}
