/**
 * `presets.mongo()`: MongoDB from the official `mongo` image, data on tmpfs, ready once the server
 * answers commands through its own shell (not merely once its port listens). Optionally a
 * single-node replica set, so that transactions and change streams work, and seed data loaded
 * from a folder before the container is handed over.
 */
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import type { HarnessOptions } from '../harness/options.js';
import { startContainer, type StartOptions } from '../harness/start.js';
import type { StartedContainer } from '../harness/started-container.js';
import { Wait } from '../harness/wait/index.js';
import { discoverSeedFiles, failedSeedFile, SEED_DIR, SEED_LOADER, seedLoaderScript, type SeedFile } from './mongo-seed.js';
import { mongoShell, PRIMARY_WAIT_MS, readinessScript } from './mongo-shell.js';
import { imageOptions, imageReference, parsePresetOptions, snapshotOption } from './preset-options.js';
import { treeDigest } from '../harness/init-snapshot-key.js';
import { existingDirectory } from './preset-paths.js';
import { StartedService } from './started-service.js';

export const MONGO_IMAGE = 'mongo';
export const MONGO_DEFAULT_TAG = '8';
const PORT = 27017;
const DEFAULT_REPLICA_SET = 'rs0';
/** WiredTiger takes half the machine's memory by default; a test database needs little, and several run at once */
const CACHE_GB = '0.25';

export const mongoOptionsSchema = z.strictObject({
  ...imageOptions,
  ...snapshotOption,
  /** a single-node replica set (`true`: named rs0), for transactions and change streams */
  replicaSet: z.union([z.boolean(), z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'expected a replica set name like "rs0"' })]).default(false),
  /** the database of the connection string and of the seed data; default `test` */
  database: z.string().regex(/^[^/\\. "$*<>:|?\0]{1,63}$/, { message: 'expected a MongoDB database name (at most 63 characters, none of / \\ . " $ * < > : | ?)' }).default('test'),
  /** a host folder of COLLECTION.json files and .js scripts, loaded in name order once the server is ready */
  seed: existingDirectory.optional(),
  /** more `mongod` arguments, e.g. `['--setParameter', 'notablescan=1']` */
  args: z.array(z.string()).default([]),
});

export type MongoOptions = z.input<typeof mongoOptionsSchema>;
type Resolved = z.output<typeof mongoOptionsSchema>;

export class StartedMongo extends StartedService {
  /** @internal */
  constructor(
    started: StartedContainer,
    readonly database: string,
    /** the replica set's name, when it runs as one */
    readonly replicaSet: string | undefined,
  ) {
    super(started);
  }

  /** The host port MongoDB listens on. */
  get mappedPort(): number {
    return this.port(PORT);
  }

  /**
   * `mongodb://127.0.0.1:PORT/DATABASE?directConnection=true`. A direct connection: the replica
   * set's member is known inside the container as 127.0.0.1:27017, which the host cannot reach.
   */
  connectionString(): string {
    return `mongodb://${this.address(PORT)}/${encodeURIComponent(this.database)}?directConnection=true`;
  }
}

function replicaSetName(o: Pick<Resolved, 'replicaSet'>): string | undefined {
  if (o.replicaSet === false) return undefined;
  return o.replicaSet === true ? DEFAULT_REPLICA_SET : o.replicaSet;
}

/** The mongod command line: every address, the replica set if asked, a small cache unless the arguments set one. */
export function mongodCommand(o: Pick<Resolved, 'replicaSet' | 'args'>): string[] {
  const rs = replicaSetName(o);
  const cache = o.args.some((a) => a.startsWith('--wiredTigerCacheSizeGB')) ? [] : ['--wiredTigerCacheSizeGB', CACHE_GB];
  return ['mongod', '--bind_ip_all', ...(rs ? ['--replSet', rs] : []), ...cache, ...o.args];
}

export function mongoContainerOptions(input: MongoOptions = {}): HarnessOptions {
  const o = parsePresetOptions('mongo', mongoOptionsSchema, input);
  return containerOptions(o, o.seed ? discoverSeedFiles(o.seed) : []);
}

function containerOptions(o: Resolved, seedFiles: SeedFile[] = []): HarnessOptions {
  const rs = replicaSetName(o);
  const ready = readinessScript(rs ? { name: rs, member: `127.0.0.1:${PORT}` } : undefined);
  const seed = o.seed;
  return {
    image: imageReference('mongo', MONGO_IMAGE, MONGO_DEFAULT_TAG, o),
    command: mongodCommand(o),
    exposedPorts: [PORT],
    tmpfs: { '/data/db': 'mode=0755' },
    // each attempt may wait for the election itself; the shell takes a second to start
    wait: Wait.forSuccessfulCommand(mongoShell(['--eval', ready]), { attemptTimeoutMs: PRIMARY_WAIT_MS + 10_000 }),
    ...(o.startupTimeout ? { startupTimeout: o.startupTimeout } : {}),
    // the data files after the first start (a replica set initiated, the seed loaded), stopped
    // cleanly by the image's stop signal; later starts skip the election set-up and the seeding
    initSnapshot: {
      paths: ['/data/db'],
      enabled: o.snapshot,
      ...(seed && seedFiles.length
        ? { key: `seed:${treeDigest(seed)}`, initialise: (c: StartedContainer) => loadSeed(c, seed, seedFiles, o.database) }
        : {}),
    },
  };
}

/**
 * A running MongoDB, ready for commands (and seeded): `await using mongo = await presets.mongo({
 * replicaSet: true })`, then `new MongoClient(mongo.connectionString())`.
 */
export async function mongo(options: MongoOptions = {}, start: StartOptions = {}): Promise<StartedMongo> {
  const o = parsePresetOptions('mongo', mongoOptionsSchema, options);
  // the seed is loaded by the start that initialises (once per seed content, with snapshots)
  const seedFiles = o.seed ? discoverSeedFiles(o.seed) : [];
  return new StartedMongo(await startContainer(containerOptions(o, seedFiles), start), o.database, replicaSetName(o));
}

async function loadSeed(c: StartedContainer, dir: string, files: SeedFile[], database: string): Promise<void> {
  await c.copyTo({ source: dir, target: SEED_DIR });
  await c.copyTo({ content: seedLoaderScript(files), target: `${SEED_DIR}/${SEED_LOADER}` });
  const r = await c.exec(mongoShell([`127.0.0.1:${PORT}/${database}`, `${SEED_DIR}/${SEED_LOADER}`]));
  if (r.exitCode === 0) return;
  const output = `${r.stdout}${r.stderr}`;
  const file = failedSeedFile(r.stdout);
  const tail = output.trim().split('\n').slice(-20).join('\n');
  throw new MayflyError('CONTAINER_START_FAILED', `presets.mongo: loading the seed ${file ? `file ${file}` : 'data'} from ${dir} failed (shell exit ${r.exitCode}):\n${tail}`, {
    details: { seed: dir, file, exitCode: r.exitCode, output },
    hint: file?.endsWith('.json') ? 'a .json seed file holds one document or an array of documents' : 'the shell output above says why',
  });
}
