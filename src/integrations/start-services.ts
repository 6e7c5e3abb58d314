/**
 * Named services for a test run, started side by side: what the Vitest fixtures, the Vitest
 * globalSetup and the Jest environment have in common. A service is a builder
 * (`container('redis:7').withExposedPorts(6379)`), `startContainer` options, or a function giving
 * either (or a started container: a preset, a container with something done to it first). If one
 * fails, the others are removed before the error, which names the service, is thrown.
 */
import { MayflyError, isMayflyError } from '../core/errors.js';
import type { ContainerBuilder } from '../harness/container-builder.js';
import type { HarnessOptions } from '../harness/options.js';
import { startContainer } from '../harness/start.js';
import type { StartedContainer } from '../harness/started-container.js';

type Definition = ContainerBuilder | HarnessOptions;

/** A service as a test run defines it. */
export type ServiceSource = Definition | (() => Definition | StartedContainer | Promise<Definition | StartedContainer>);

export async function startService(name: string, source: ServiceSource, signal?: AbortSignal): Promise<StartedContainer> {
  try {
    const made = typeof source === 'function' ? await source() : source;
    if (isStarted(made)) return made;
    if (isBuilder(made)) return await made.start(signal ? { signal } : {});
    if (!made || typeof made !== 'object') {
      throw new MayflyError('INVALID_OPTION', `expected container(image)…, startContainer options or a function giving one, got ${made === null ? 'null' : typeof made}`);
    }
    return await startContainer(made, signal ? { signal } : {});
  } catch (e) {
    throw serviceFailed(name, e);
  }
}

/** Starts every service side by side; all of them, or none (the started ones are removed on a failure). */
export async function startServices<K extends string>(sources: Record<K, ServiceSource>): Promise<Record<K, StartedContainer>> {
  const names = Object.keys(sources) as K[];
  const started = new Map<K, StartedContainer>();
  const abort = new AbortController();
  let firstError: unknown;
  await Promise.allSettled(
    names.map(async (name) => {
      try {
        started.set(name, await startService(name, sources[name], abort.signal));
      } catch (e) {
        if (firstError === undefined) {
          firstError = e;
          abort.abort(e); // the others stop waiting, and remove what they started
        }
      }
    }),
  );
  if (firstError !== undefined) {
    await removeServices(started.values());
    throw firstError;
  }
  return Object.fromEntries(names.map((n) => [n, started.get(n)!])) as Record<K, StartedContainer>;
}

/** Removes them all (a reused one stays for the next run); the first failure is thrown once all were tried. */
export async function removeServices(containers: Iterable<StartedContainer>): Promise<void> {
  const results = await Promise.allSettled([...containers].map((c) => c.remove()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Duck-typed: a test file and the package may hold two copies of the harness (a bundler, a link). */
function isStarted(v: unknown): v is StartedContainer {
  const c = v as StartedContainer | undefined;
  return !!c && typeof c === 'object' && typeof c.remove === 'function' && typeof c.port === 'function' && typeof c.exec === 'function';
}

function isBuilder(v: unknown): v is ContainerBuilder {
  const b = v as ContainerBuilder | undefined;
  return !!b && typeof b === 'object' && typeof b.start === 'function' && typeof b.options === 'function';
}

function serviceFailed(name: string, e: unknown): Error {
  if (isMayflyError(e)) {
    if (e.details.service !== undefined) return e;
    return new MayflyError(e.code, `service ${name}: ${e.message.replace(/\n {2}hint: [\s\S]*$/, '')}`, {
      details: { ...e.details, service: name },
      cause: e,
      ...(e.hint ? { hint: e.hint } : {}),
    });
  }
  if (e instanceof Error) {
    const wrapped = new Error(`service ${name}: ${e.message}`, { cause: e });
    if (e.stack) wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${e.stack.split('\n').slice(1).join('\n')}`;
    return wrapped;
  }
  return new Error(`service ${name}: ${String(e)}`);
}
