/**
 * The store and sharing commands: `tag`, `rmi`, `image prune`, `inspect`, `history`, `login`,
 * `push`, `save`, `load`. Those that only read the store (or a registry) need no sandbox; those that
 * delete layers or extract them start one.
 */
import { readFileSync } from 'node:fs';
import { MayflyError } from '../errors.js';
import { saveImages } from '../image/archive/save.js';
import { saveCredentials } from '../image/credentials.js';
import { pushImage } from '../image/push.js';
import { familiarName, isRegistryName, normalizeRegistry, parseReference, registryHost } from '../image/reference.js';
import { loadRegistryConfig, registryScheme } from '../image/registry-config.js';
import { RegistryClient } from '../image/registry/index.js';
import { ImageStore } from '../image/store/image-store.js';
import { imageHistory, inspectImage } from '../image/store/inspect.js';
import { tagImage } from '../image/store/tag.js';
import { mayflyHome } from '../paths.js';
import { printTable } from './table.js';
import { withRuntime } from './with-runtime.js';
import { parseFlags } from './args.js';
import { progressPrinter } from './progress.js';

const store = () => new ImageStore(mayflyHome());
const shortId = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
const usage = (text: string) => new MayflyError('INVALID_OPTION', `usage: ${text}`);

export function tagCommand(argv: string[]): number {
  const { rest } = parseFlags(argv, [], 'tag');
  if (rest.length !== 2) throw usage('mayfly tag SOURCE_IMAGE TARGET_IMAGE');
  tagImage(store(), rest[0]!, rest[1]!);
  return 0;
}

export async function rmiCommand(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, [{ names: ['-f', '--force'], kind: 'boolean', key: 'force' }], 'rmi');
  if (!rest.length) throw usage('mayfly rmi [-f] IMAGE...');
  return withRuntime(async (rt) => {
    let failed = 0;
    for (const ref of rest) {
      try {
        const r = await rt.rmi(ref, { force: Boolean(flags.force) });
        for (const n of r.untagged) process.stdout.write(`Untagged: ${familiarName(parseReference(n))}\n`);
        if (r.deleted) process.stdout.write(`Deleted: ${r.deleted}\n`);
      } catch (e) {
        // like docker: go on with the others, fail at the end
        failed++;
        process.stderr.write(`mayfly: ${(e as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  });
}

export async function imagePruneCommand(argv: string[]): Promise<number> {
  parseFlags(argv, [{ names: ['-f', '--force'], kind: 'boolean', key: 'force' }], 'image prune');
  return withRuntime(async (rt) => {
    const { layers, blobs } = await rt.prune();
    process.stdout.write(`Removed ${layers.length} layer(s) and ${blobs.length} blob(s)\n`);
    return 0;
  });
}

export function inspectCommand(argv: string[]): number {
  const { rest } = parseFlags(argv, [], 'inspect');
  if (!rest.length) throw usage('mayfly inspect IMAGE...');
  const s = store();
  process.stdout.write(`${JSON.stringify(rest.map((ref) => inspectImage(s, ref)), null, 2)}\n`);
  return 0;
}

export function historyCommand(argv: string[]): number {
  const { flags, rest } = parseFlags(argv, [{ names: ['--no-trunc'], kind: 'boolean', key: 'noTrunc' }, { names: ['-q', '--quiet'], kind: 'boolean', key: 'quiet' }], 'history');
  if (rest.length !== 1) throw usage('mayfly history [--no-trunc] IMAGE');
  const rows = imageHistory(store(), rest[0]!);
  if (flags.quiet) {
    for (const r of rows) process.stdout.write(`${r.layer ? shortId(r.layer) : '<missing>'}\n`);
    return 0;
  }
  const trunc = (s: string) => (flags.noTrunc || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
  printTable([
    ['LAYER', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
    ...rows.map((r) => [r.layer ? shortId(r.layer) : '<missing>', r.created ?? '', trunc(r.createdBy.replace(/\s+/g, ' ')), r.emptyLayer ? '0 B' : `${(r.size / 1e6).toFixed(1)} MB`, r.comment ?? '']),
  ]);
  return 0;
}

export async function loginCommand(argv: string[], stdin: () => string = () => readFileSync(0, 'utf8')): Promise<number> {
  const { flags, rest } = parseFlags(
    argv,
    [
      { names: ['-u', '--username'], kind: 'string', key: 'username' },
      { names: ['-p', '--password'], kind: 'string', key: 'password' },
      { names: ['--password-stdin'], kind: 'boolean', key: 'passwordStdin' },
    ],
    'login',
  );
  const text = 'mayfly login -u USER (--password-stdin | -p PASSWORD) [REGISTRY]';
  if (rest.length > 1) throw usage(text);
  const registry = normalizeRegistry((rest[0] ?? 'docker.io').replace(/^https?:\/\//, '').replace(/\/.*$/, ''));
  if (!isRegistryName(registry)) throw new MayflyError('INVALID_OPTION', `"${rest[0]}" is not a registry name`, { hint: 'e.g. ghcr.io or 127.0.0.1:5000' });
  const username = flags.username as string | undefined;
  if (!username) throw usage(text);
  let password = flags.password as string | undefined;
  if (flags.passwordStdin) {
    if (password !== undefined) throw new MayflyError('INVALID_OPTION', '--password and --password-stdin are mutually exclusive');
    password = stdin().replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    process.stderr.write('mayfly: warning: a password on the command line is visible to other users; use --password-stdin\n');
  }
  if (!password) throw usage(text);
  // check before storing: a login that is not accepted must not replace one that was
  const config = await loadRegistryConfig({ file: `${mayflyHome()}/config.json` });
  const client = new RegistryClient(`${registryScheme(registry, config)}://${registryHost(registry)}`, { credentials: { username, password }, name: registry });
  await client.ping();
  await saveCredentials(registry, username, password, { home: mayflyHome() });
  process.stdout.write('Login Succeeded\n');
  return 0;
}

export async function pushCommand(argv: string[]): Promise<number> {
  const { rest } = parseFlags(argv, [], 'push');
  if (rest.length !== 1) throw usage('mayfly push IMAGE');
  const r = await pushImage(store(), rest[0]!, { onProgress: progressPrinter() });
  process.stdout.write(`${familiarName(parseReference(r.name))}: digest: ${r.digest}\n`);
  return 0;
}

export async function saveCommand(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, [{ names: ['-o', '--output'], kind: 'string', key: 'output' }], 'save');
  if (!flags.output || !rest.length) throw usage('mayfly save -o FILE IMAGE...');
  await saveImages(store(), rest, flags.output as string);
  return 0;
}

export async function loadCommand(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, [{ names: ['-i', '--input'], kind: 'string', key: 'input' }], 'load');
  if (!flags.input || rest.length) throw usage('mayfly load -i FILE');
  return withRuntime(async (rt) => {
    for (const r of await rt.load(flags.input as string)) {
      for (const n of r.names) process.stdout.write(`Loaded image: ${familiarName(parseReference(n))}\n`);
      if (!r.names.length) process.stdout.write(`Loaded image ID: ${r.id}\n`);
    }
    return 0;
  });
}
