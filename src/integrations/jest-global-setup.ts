/**
 * `mayfly/jest-global-setup` (Jest's `globalSetup`): starts the services of
 * `testEnvironmentOptions.mayfly.shared` once, in Jest's main process, before any test file, and
 * hands their addresses to the workers through the environment (`$MAYFLY_JEST_SHARED`, JSON: Jest's
 * workers inherit it). `mayfly/jest-environment` exposes them as `mayfly.shared.<name>`;
 * `mayfly/jest-global-teardown` removes them. Without a teardown they go when Jest's process ends.
 */
import { closeSharedRuntime } from '../harness/session.js';
import type { StartedContainer } from '../harness/started-container.js';
import { readJestOptions, SHARED_ENV, sharedFromEnv } from './jest-options.js';
import { serviceRecord, type ServiceRecord } from './service-endpoint.js';
import { removeServices, startServices } from './start-services.js';

/** Where globalSetup leaves its containers for globalTeardown (both run in Jest's main process). */
const STARTED = Symbol.for('mayfly.jest.shared');

interface ProjectConfigLike {
  testEnvironmentOptions?: Record<string, unknown>;
}

type Holder = { [STARTED]?: StartedContainer[] };

export default async function mayflyGlobalSetup(_globalConfig: unknown, projectConfig: ProjectConfigLike = {}): Promise<void> {
  const { shared } = readJestOptions(projectConfig.testEnvironmentOptions);
  if (!Object.keys(shared).length) return;
  let started: Record<string, StartedContainer>;
  try {
    started = await startServices(shared);
  } catch (e) {
    if (e instanceof Error) e.message = `mayfly/jest-global-setup: ${e.message}`;
    throw e;
  }
  const holder = globalThis as Holder;
  holder[STARTED] = [...(holder[STARTED] ?? []), ...Object.values(started)];
  // several projects add up
  const records: Record<string, ServiceRecord> = { ...sharedFromEnv() };
  for (const [name, c] of Object.entries(started)) records[name] = serviceRecord(c);
  process.env[SHARED_ENV] = JSON.stringify(records);
}

/** Removes what globalSetup started (`mayfly/jest-global-teardown`). */
export async function removeSharedServices(): Promise<void> {
  const holder = globalThis as Holder;
  const started = holder[STARTED] ?? [];
  delete holder[STARTED];
  delete process.env[SHARED_ENV];
  try {
    await removeServices(started);
  } finally {
    // the run is over: the main process's sandbox goes too, so that nothing holds Jest open
    await closeSharedRuntime();
  }
}
