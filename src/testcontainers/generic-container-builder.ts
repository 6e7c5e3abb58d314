/**
 * `GenericContainer.fromDockerfile(context, file).withBuildArgs({…}).build()`: an image built by
 * mayfly's own builder (each step a cached layer: an unchanged rebuild runs no step; a multi-stage
 * Dockerfile to its target stage), then a GenericContainer of it.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { sharedRuntime } from '../harness/session.js';
import { GenericContainer } from './generic-container.js';
import { PullPolicy, type ImagePullPolicy } from './pull-policy.js';
import { hostPlatform } from './refusals.js';
import type { BuildArgs } from './types.js';
import { RandomUuid, type Uuid } from './uuid.js';

declare module './generic-container.js' {
  // the static side of GenericContainer gains its builder here: the builder returns GenericContainers, so
  // defining fromDockerfile in generic-container.ts would make the two files import each other
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace GenericContainer {
    /** `GenericContainer.fromDockerfile(context, 'Dockerfile')`: an image built from a Dockerfile, then a container of it */
    let fromDockerfile: (context: string, dockerfileName?: string) => GenericContainerBuilder;
  }
}

/** `deleteOnExit` is accepted; mayfly keeps built images in its store, where they are the next build's cache */
export type BuildOptions = { deleteOnExit: boolean };

export class GenericContainerBuilder {
  private buildArgs: BuildArgs = {};
  private pullPolicy: ImagePullPolicy = PullPolicy.defaultPolicy();
  private cache = true;
  private target?: string;
  private platform?: string;

  constructor(
    private readonly context: string,
    private readonly dockerfileName: string,
    /** accepted for Testcontainers' signature; the image name comes from the Dockerfile's path and arguments */
    uuid: Uuid = new RandomUuid(),
  ) {
    void uuid;
  }

  withBuildArgs(buildArgs: BuildArgs): GenericContainerBuilder {
    this.buildArgs = { ...this.buildArgs, ...buildArgs };
    return this;
  }

  /** alwaysPull(): the FROM image is pulled again before the build */
  withPullPolicy(pullPolicy: ImagePullPolicy): this {
    this.pullPolicy = pullPolicy;
    return this;
  }

  /** false: every step runs again */
  withCache(cache: boolean): this {
    this.cache = cache;
    return this;
  }

  /** mayfly's builder is what builds, whatever the backend asked for */
  withBuildkit(): this {
    return this;
  }

  withPlatform(platform: string): this {
    this.platform = platform;
    return this;
  }

  /** the stage of a multi-stage Dockerfile to build (default: the last) */
  withTarget(target: string): this {
    this.target = target;
    return this;
  }

  /** Builds the image (named `image`, else a name derived from the context) and returns a GenericContainer of it. */
  async build(image?: string, options: BuildOptions = { deleteOnExit: true }): Promise<GenericContainer> {
    void options;
    const context = resolve(this.context);
    const dockerfile = resolve(context, this.dockerfileName);
    const refused = [
      ...(this.platform !== undefined && this.platform.split('/').slice(0, 2).join('/') !== hostPlatform() ? [`withPlatform("${this.platform}"): mayfly builds for this machine's platform (${hostPlatform()}) only`] : []),
    ];
    if (refused.length) {
      throw new MayflyError('UNSUPPORTED', `GenericContainer.fromDockerfile("${this.context}") asks for what mayfly cannot do:\n${refused.map((r) => `  - ${r}`).join('\n')}`, {
        hint: 'remove these settings; see "Coming from Testcontainers" in mayfly\'s README',
      });
    }
    const rt = await sharedRuntime();
    // one name per Dockerfile and arguments: a rebuild renames nothing, so the store does not fill up with names
    const tag = image ?? `localhost/testcontainers/${createHash('sha256').update(`${dockerfile}\0${JSON.stringify(this.buildArgs)}`).digest('hex').slice(0, 16)}:latest`;
    await rt.build({ context, dockerfile, tag, buildArgs: this.buildArgs, noCache: !this.cache, pull: this.pullPolicy.shouldPull(), ...(this.target !== undefined ? { target: this.target } : {}) });
    return new GenericContainer(tag);
  }
}

GenericContainer.fromDockerfile = (context: string, dockerfileName = 'Dockerfile') => new GenericContainerBuilder(context, dockerfileName);
