/**
 * `mayfly/vitest-global-setup`: services started once for a whole Vitest run, in Vitest's main
 * process, before any test file; their addresses go to every worker through Vitest's `provide`, and
 * a test reads them with `mayflyService(name)` from `mayfly/vitest`. Read-only or otherwise shareable
 * services belong here; each shard of a `--shard` run is a Vitest process of its own and starts its
 * own. They are removed when the run ends (in watch mode: when Vitest exits), and in any case with
 * the main process, however it ends. The teardown also ends the main process's runtime
 * (`closeSharedRuntime()`): start every container Vitest's main process needs through a globalSetup
 * listed after this one, or through this one.
 *
 * A module of its own because a globalSetup must not import `vitest` (it runs outside the workers,
 * where Vitest's test API is not available).
 */
import { closeSharedRuntime } from '../harness/session.js';
import type { StartedContainer } from '../harness/started-container.js';
import { serviceRecord, type JsonValue, type ServiceRecord } from './service-endpoint.js';
import { removeServices, startServices, type ServiceSource } from './start-services.js';

export type { JsonValue, ServiceRecord } from './service-endpoint.js';
export type { ServiceSource } from './start-services.js';

/** The key the services are provided under: `inject('mayfly')`. */
export const PROVIDED_KEY = 'mayfly';

/** A shared service with what, besides host and ports, its tests should know. */
export interface SharedService {
  container: ServiceSource;
  /** JSON-able facts a test needs (a connection string, a password), computed once it is ready */
  details?: (c: StartedContainer) => Record<string, JsonValue> | Promise<Record<string, JsonValue>>;
}

/** What Vitest calls a globalSetup with (its `TestProject`), as far as this module uses it. */
export interface GlobalSetupProject {
  provide(key: typeof PROVIDED_KEY, value: Record<string, ServiceRecord>): void;
  getProvidedContext?(): { mayfly?: Record<string, ServiceRecord> };
}

export type MayflyGlobalSetup<N extends string> = ((project: GlobalSetupProject) => Promise<() => Promise<void>>) & {
  /** the services' names, for `mayflyService<typeof setup>(name)` (types only: never set) */
  readonly __services?: N;
};

/**
 * A Vitest globalSetup starting `services` side by side (all or none: if one fails, the others are
 * removed and the error names it). Export it as the default of the file `test.globalSetup` names.
 *
 * ```ts
 * export default mayflyGlobalSetup({ api: container('nginx:1').withExposedPorts(80) });
 * ```
 */
export function mayflyGlobalSetup<const S extends Record<string, ServiceSource | SharedService>>(services: S): MayflyGlobalSetup<Extract<keyof S, string>> {
  const sources: Record<string, ServiceSource> = {};
  const details: Record<string, SharedService['details']> = {};
  for (const [name, s] of Object.entries(services)) {
    if (isSharedService(s)) {
      sources[name] = s.container;
      details[name] = s.details;
    } else {
      sources[name] = s;
    }
  }
  return async (project: GlobalSetupProject) => {
    let started: Record<string, StartedContainer>;
    try {
      started = await startServices(sources);
    } catch (e) {
      throw prefixed(e);
    }
    try {
      const records: Record<string, ServiceRecord> = {};
      for (const [name, c] of Object.entries(started)) {
        const extra = details[name];
        records[name] = serviceRecord(c, extra ? await extra(c) : {});
        // provide() takes JSON-able values only: fail here, naming the service
        JSON.parse(JSON.stringify(records[name]));
      }
      // several of these globalSetups add up
      project.provide(PROVIDED_KEY, { ...project.getProvidedContext?.().mayfly, ...records });
    } catch (e) {
      await removeServices(Object.values(started)).catch(() => {});
      throw prefixed(e);
    }
    return async () => {
      try {
        await removeServices(Object.values(started));
      } finally {
        // the run is over: the main process's sandbox goes too, so that nothing holds Vitest open
        await closeSharedRuntime();
      }
    };
  };
}

function isSharedService(s: ServiceSource | SharedService): s is SharedService {
  return typeof s === 'object' && s !== null && 'container' in s && typeof (s as { options?: unknown }).options !== 'function';
}

function prefixed(e: unknown): unknown {
  if (e instanceof Error && !e.message.startsWith('mayflyGlobalSetup: ')) e.message = `mayflyGlobalSetup: ${e.message}`;
  return e;
}
