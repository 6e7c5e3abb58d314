/**
 * Several containers on a private network, each reachable by its service name — compose as code.
 * Services start as soon as what they depend on is ready (independent ones side by side), and stop
 * together. If one fails, the others are removed before the error (naming the service) is thrown.
 */
import { MayflyError } from '../core/errors.js';
import type { Runtime } from '../engine/runtime.js';
import { ContainerBuilder } from './container-builder.js';
import { network, type StartedNetwork } from './network.js';
import { parseHarnessOptions, type HarnessOptions } from './options.js';
import { sharedRuntime } from './session.js';
import { startContainer } from './start.js';
import type { StartedContainer } from './started-container.js';

interface ServiceDef {
  options: HarnessOptions;
  dependsOn: string[];
}

export class EnvironmentBuilder {
  private readonly services = new Map<string, ServiceDef>();
  private internal = false;

  /** A service named `name` (also its host name on the network), started after `dependsOn` are ready. */
  withService(name: string, service: ContainerBuilder | HarnessOptions, opts: { dependsOn?: string[] } = {}): this {
    if (this.services.has(name)) throw new MayflyError('INVALID_OPTION', `environment: service ${name} is defined twice`);
    const options = service instanceof ContainerBuilder ? service.options() : service;
    this.services.set(name, { options, dependsOn: opts.dependsOn ?? [] });
    return this;
  }

  /** no outbound access for the services (they still reach each other, and you reach their ports) */
  withInternalNetwork(internal = true): this {
    this.internal = internal;
    return this;
  }

  async up(opts: { runtime?: Runtime } = {}): Promise<StartedEnvironment> {
    this.validate();
    const rt = opts.runtime ?? (await sharedRuntime());
    const net = await network({ internal: this.internal, runtime: rt });
    const started = new Map<string, StartedContainer>();
    const abort = new AbortController();
    const ready = new Map<string, Promise<StartedContainer>>();
    const startService = (name: string): Promise<StartedContainer> => {
      let p = ready.get(name);
      if (p) return p;
      const def = this.services.get(name)!;
      p = (async () => {
        await Promise.all(def.dependsOn.map(startService));
        abort.signal.throwIfAborted();
        const c = await startContainer(
          { ...def.options, network: net.name, networkAliases: [name, ...(def.options.networkAliases ?? [])] },
          { runtime: rt, signal: abort.signal },
        ).catch((e: unknown) => {
          throw serviceFailed(name, e);
        });
        started.set(name, c);
        return c;
      })();
      ready.set(name, p);
      return p;
    };
    let firstError: unknown;
    await Promise.allSettled(
      [...this.services.keys()].map((n) =>
        startService(n).catch((e: unknown) => {
          firstError ??= e;
          abort.abort(e); // the others stop waiting, and remove what they started
          throw e;
        }),
      ),
    );
    if (firstError !== undefined) {
      await Promise.allSettled([...started.values()].map((c) => c.remove()));
      await net.remove();
      throw firstError;
    }
    return new StartedEnvironment(net, started);
  }

  /** Every field of every service checked, dependencies known and acyclic — before anything starts. */
  private validate(): void {
    if (!this.services.size) throw new MayflyError('INVALID_OPTION', 'environment: no services (add some with withService)');
    for (const [name, def] of this.services) {
      try {
        parseHarnessOptions(def.options);
      } catch (e) {
        throw serviceFailed(name, e);
      }
      for (const d of def.dependsOn) {
        if (!this.services.has(d)) throw new MayflyError('INVALID_OPTION', `environment: service ${name} depends on ${d}, which is not defined`);
      }
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (n: string, path: string[]) => {
      if (done.has(n)) return;
      if (visiting.has(n)) throw new MayflyError('INVALID_OPTION', `environment: dependency cycle ${[...path, n].join(' → ')}`);
      visiting.add(n);
      for (const d of this.services.get(n)!.dependsOn) visit(d, [...path, n]);
      visiting.delete(n);
      done.add(n);
    };
    for (const n of this.services.keys()) visit(n, []);
  }
}

export class StartedEnvironment {
  /** @internal */
  constructor(
    readonly network: StartedNetwork,
    private readonly containers: Map<string, StartedContainer>,
  ) {}

  /** The started container of a service. */
  service(name: string): StartedContainer {
    const c = this.containers.get(name);
    if (!c) throw new MayflyError('INVALID_OPTION', `environment: no service ${name} (services: ${[...this.containers.keys()].join(', ')})`);
    return c;
  }

  get services(): string[] {
    return [...this.containers.keys()];
  }

  /** Removes every container, then the network. */
  async down(): Promise<void> {
    await Promise.allSettled([...this.containers.values()].map((c) => c.remove()));
    this.containers.clear();
    await this.network.remove();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}

function serviceFailed(name: string, e: unknown): Error {
  if (e instanceof MayflyError) {
    return new MayflyError(e.code, `service ${name}: ${e.message}`, { details: { ...e.details, service: name }, ...(e.hint ? { hint: e.hint } : {}) });
  }
  return e as Error;
}

export function environment(): EnvironmentBuilder {
  return new EnvironmentBuilder();
}
