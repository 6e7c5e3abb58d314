/**
 * `presets.redis()`: a Redis server from the official `redis` image, persistence off and /data on
 * tmpfs, ready once `redis-cli ping` inside the container answers PONG (not merely once the port
 * listens: a loading server answers LOADING).
 */
import { z } from 'zod';
import type { HarnessOptions } from '../harness/options.js';
import { startContainer, type StartOptions } from '../harness/start.js';
import type { StartedContainer } from '../harness/started-container.js';
import { Wait } from '../harness/wait/index.js';
import { imageOptions, imageReference, parsePresetOptions } from './preset-options.js';
import { StartedService } from './started-service.js';

export const REDIS_IMAGE = 'redis';
export const REDIS_DEFAULT_TAG = '7';
const PORT = 6379;

export const redisOptionsSchema = z.strictObject({
  ...imageOptions,
  /** requires clients to authenticate (`--requirepass`); in the connection string too */
  password: z.string().min(1).optional(),
  /** more `redis-server` arguments, e.g. `['--maxmemory', '64mb']` */
  args: z.array(z.string()).default([]),
});

export type RedisOptions = z.input<typeof redisOptionsSchema>;

export class StartedRedis extends StartedService {
  /** @internal */
  constructor(
    started: StartedContainer,
    readonly password: string | undefined,
  ) {
    super(started);
  }

  /** The host port Redis listens on. */
  get mappedPort(): number {
    return this.port(PORT);
  }

  /** `redis://127.0.0.1:PORT` (`redis://:password@…` with a password), for ioredis, node-redis … */
  connectionString(): string {
    const auth = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`;
    return `redis://${auth}${this.address(PORT)}`;
  }
}

export function redisContainerOptions(input: RedisOptions = {}): HarnessOptions {
  return containerOptions(parsePresetOptions('redis', redisOptionsSchema, input));
}

function containerOptions(o: z.output<typeof redisOptionsSchema>): HarnessOptions {
  const auth = o.password === undefined ? [] : ['--requirepass', o.password];
  return {
    image: imageReference('redis', REDIS_IMAGE, REDIS_DEFAULT_TAG, o),
    // redis-cli (in the readiness check, in a test's exec) takes the password from REDISCLI_AUTH:
    // not on a command line, nor in a failure's message
    env: o.password === undefined ? {} : { REDISCLI_AUTH: o.password },
    // no snapshots, no append-only file: nothing of a test's data is worth a disk write
    command: ['redis-server', '--save', '', '--appendonly', 'no', ...auth, ...o.args],
    exposedPorts: [PORT],
    tmpfs: { '/data': 'mode=0755' },
    wait: Wait.forSuccessfulCommand(['sh', '-c', '[ "$(redis-cli ping)" = PONG ]']),
    ...(o.startupTimeout ? { startupTimeout: o.startupTimeout } : {}),
  };
}

/** A running Redis, ready for commands: `await using redis = await presets.redis()`, then `new Redis(redis.connectionString())`. */
export async function redis(options: RedisOptions = {}, start: StartOptions = {}): Promise<StartedRedis> {
  const o = parsePresetOptions('redis', redisOptionsSchema, options);
  const started = await startContainer(containerOptions(o), start);
  return new StartedRedis(started, o.password);
}
