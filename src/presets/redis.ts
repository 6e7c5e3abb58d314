/**
 * `presets.redis()`: a Redis server from the official `redis` image, persistence off and /data on
 * tmpfs, ready once `redis-cli ping` inside the container answers PONG (not merely once the port
 * listens: a loading server answers LOADING).
 */
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import type { HarnessOptions } from '../harness/options.js';
import { treeDigest } from '../harness/init-snapshot-key.js';
import { startContainer, type StartOptions } from '../harness/start.js';
import type { StartedContainer } from '../harness/started-container.js';
import { Wait } from '../harness/wait/index.js';
import { existingFile } from './preset-paths.js';
import { imageOptions, imageReference, parsePresetOptions, snapshotOption } from './preset-options.js';
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
  /**
   * a host file of Redis commands, one per line as `redis-cli` reads them (`SET greeting hello`),
   * run once the server is ready; with `snapshot` (the default) only the first start of a seed runs
   * them, later ones load the data it kept
   */
  seed: existingFile.optional(),
  ...snapshotOption,
});

const SEED_FILE = '/mayfly-seed.redis';

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
    // only a seed makes a first start worth keeping: SHUTDOWN SAVE writes /data/dump.rdb (also
    // with saving off), which a later server loads at start
    ...(o.seed ? { initSnapshot: seedSnapshot(o.seed, o.snapshot) } : {}),
  };
}

function seedSnapshot(seed: string, enabled: boolean): NonNullable<HarnessOptions['initSnapshot']> {
  return {
    paths: ['/data'],
    enabled,
    key: `seed:${treeDigest(seed)}`,
    quiesce: { command: ['redis-cli', 'shutdown', 'save'] },
    initialise: (c) => loadSeed(c, seed),
  };
}

/** Runs the seed's commands through redis-cli; a command the server refuses fails the start, quoting its reply. */
async function loadSeed(c: StartedContainer, seed: string): Promise<void> {
  await c.copyTo({ source: seed, target: SEED_FILE, mode: 0o644 });
  const r = await c.exec(['sh', '-c', `redis-cli < ${SEED_FILE}`]);
  // redis-cli goes on after an error reply, and exits 0: the replies say what failed
  const refused = r.stdout.split('\n').find((l) => /^(\(error\) )?(ERR|WRONGTYPE|NOAUTH|NOPERM|WRONGPASS|READONLY|OOM|EXECABORT|BUSY|NOSCRIPT|MISCONF)\b/.test(l));
  if (r.exitCode === 0 && !refused) return;
  throw new MayflyError('CONTAINER_START_FAILED', `presets.redis: the seed ${seed} failed: ${(refused ?? (r.stderr || r.stdout)).trim()}`, {
    hint: 'a seed holds one Redis command per line, as redis-cli reads them: SET key value',
    details: { seed, exitCode: r.exitCode, output: r.stdout + r.stderr },
  });
}

/** A running Redis, ready for commands: `await using redis = await presets.redis()`, then `new Redis(redis.connectionString())`. */
export async function redis(options: RedisOptions = {}, start: StartOptions = {}): Promise<StartedRedis> {
  const o = parsePresetOptions('redis', redisOptionsSchema, options);
  const started = await startContainer(containerOptions(o), start);
  return new StartedRedis(started, o.password);
}
