/**
 * What the Jest integration reads from the Jest config: `testEnvironmentOptions.mayfly`, JSON (Jest
 * hands it to its workers serialized).
 *
 * ```js
 * testEnvironmentOptions: {
 *   mayfly: {
 *     services: { redis: { image: 'redis:7', exposedPorts: [6379] } }, // per test file
 *     shared: { api: { image: 'nginx:1', exposedPorts: [80] } },        // once per run (globalSetup)
 *   },
 * }
 * ```
 */
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import type { HarnessOptions } from '../harness/options.js';
import { parseWith } from '../core/validate.js';
import { harnessOptionsFromJson } from './json-service.js';
import type { ServiceRecord } from './service-endpoint.js';

export const OPTIONS_PATH = 'testEnvironmentOptions.mayfly';

/** How the globalSetup hands the shared services to the workers (they inherit its environment). */
export const SHARED_ENV = 'MAYFLY_JEST_SHARED';

/** services by name; a name is what a docblock lists, so a word (zod's own message for a bad record key says no more than "invalid key") */
const servicesByName = z
  .record(z.string(), z.unknown())
  .superRefine((services, ctx) => {
    for (const name of Object.keys(services)) {
      if (!/^[A-Za-z_$][\w$-]*$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'a service name is a word: letters, digits, _, $ and -' });
    }
  })
  .default({});

const jestOptionsSchema = z
  .strictObject({
    /** started for each test file (those its `@mayfly` docblock names, or all of them without one) */
    services: servicesByName,
    /** started once for the whole run by `mayfly/jest-global-setup` */
    shared: servicesByName,
  })
  .default({ services: {}, shared: {} });

export interface JestOptions {
  services: Record<string, HarnessOptions>;
  shared: Record<string, HarnessOptions>;
}

/** Validates `testEnvironmentOptions.mayfly`, every service of it, naming the field in errors. */
export function readJestOptions(testEnvironmentOptions: Record<string, unknown> | undefined): JestOptions {
  const raw = parseWith(jestOptionsSchema, testEnvironmentOptions?.mayfly, OPTIONS_PATH);
  const convert = (group: 'services' | 'shared') =>
    Object.fromEntries(Object.entries(raw[group]).map(([name, spec]) => [name, harnessOptionsFromJson(spec, `${OPTIONS_PATH}.${group}.${name}`)]));
  return { services: convert('services'), shared: convert('shared') };
}

/**
 * The services a test file starts: those its `@mayfly` pragmas name (`@mayfly redis, api`; an empty
 * `@mayfly` starts none), or every one of `services` when it has none.
 */
export function servicesForFile(pragmas: Record<string, string | string[]>, options: JestOptions, testPath: string): string[] {
  const pragma = pragmas.mayfly;
  if (pragma === undefined) return Object.keys(options.services);
  const names = [...new Set((Array.isArray(pragma) ? pragma : [pragma]).flatMap((p) => p.split(/[\s,]+/)).filter(Boolean))];
  const unknown = names.filter((n) => !(n in options.services));
  if (unknown.length) {
    const defined = Object.keys(options.services);
    throw new MayflyError('INVALID_OPTION', `${testPath}: @mayfly names ${unknown.join(', ')}, which ${OPTIONS_PATH}.services does not define`, {
      hint: defined.length ? `defined: ${defined.join(', ')}` : `define it in the Jest config: testEnvironmentOptions: { mayfly: { services: { ${unknown[0]}: { image: '…', exposedPorts: [...] } } } }`,
    });
  }
  return names;
}

/** The shared services' records the globalSetup left in the environment. */
export function sharedFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, ServiceRecord> {
  const text = env[SHARED_ENV];
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, ServiceRecord>;
  } catch (cause) {
    throw new MayflyError('INVALID_OPTION', `$${SHARED_ENV} is not the JSON mayfly/jest-global-setup writes`, { cause });
  }
}
