/**
 * The store and sharing commands: `tag`, `rmi`, `image prune`, `history`, `login`,
 * `push`, `save`, `load`. Those that only read the store (or a registry) need no sandbox; those that
 * delete layers or extract them start one.
 */
import { readFileSync } from 'node:fs';
import { MayflyError } from '../core/errors.js';
import { saveCredentials } from '../image/credentials.js';
import { familiarName, isRegistryName, normalizeRegistry, parseReference, registryHost } from '../image/reference.js';
import { loadRegistryConfig, registryScheme } from '../image/registry-config.js';
import { RegistryClient } from '../image/registry/index.js';
import { LocalImages } from '../engine/images.js';
import { mayflyHome } from '../core/paths.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, text } from './command-line/values.js';
import { formatTable } from './output/listing.js';
import { progressPrinter } from './progress.js';
import { withRuntime } from './with-runtime.js';

const images = () => new LocalImages();
const shortId = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
const usage = (line: string) => new MayflyError('INVALID_OPTION', `usage: ${line}`);

export function tagCommand({ args }: ParsedCommand): number {
  images().tag(args[0]!, args[1]!);
  return 0;
}

export async function rmiCommand({ flags, args }: ParsedCommand): Promise<number> {
  return withRuntime(async (rt) => {
    let failed = 0;
    for (const ref of args) {
      try {
        const r = await rt.rmi(ref, { force: bool(flags, 'force') });
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

export async function imagePruneCommand(): Promise<number> {
  return withRuntime(async (rt) => {
    const { layers, blobs, snapshots } = await rt.prune();
    process.stdout.write(`Removed ${layers.length} layer(s), ${blobs.length} blob(s) and ${snapshots.length} initialised-data snapshot(s)\n`);
    return 0;
  });
}

export function historyCommand({ flags, args }: ParsedCommand): number {
  const rows = images().history(args[0]!);
  if (bool(flags, 'quiet')) {
    for (const r of rows) process.stdout.write(`${r.layer ? shortId(r.layer) : '<missing>'}\n`);
    return 0;
  }
  const trunc = (s: string) => (bool(flags, 'no-trunc') || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
  process.stdout.write(formatTable([
    ['LAYER', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
    ...rows.map((r) => [r.layer ? shortId(r.layer) : '<missing>', r.created ?? '', trunc(r.createdBy.replace(/\s+/g, ' ')), r.emptyLayer ? '0 B' : `${(r.size / 1e6).toFixed(1)} MB`, r.comment ?? '']),
  ]));
  return 0;
}

export async function loginCommand({ flags, args }: ParsedCommand, stdin: () => string = () => readFileSync(0, 'utf8')): Promise<number> {
  const line = 'mayfly login -u USER (--password-stdin | -p PASSWORD) [REGISTRY]';
  const rest = args;
  const registry = normalizeRegistry((rest[0] ?? 'docker.io').replace(/^https?:\/\//, '').replace(/\/.*$/, ''));
  if (!isRegistryName(registry)) throw new MayflyError('INVALID_OPTION', `"${rest[0]}" is not a registry name`, { hint: 'e.g. ghcr.io or 127.0.0.1:5000' });
  const username = text(flags, 'username');
  if (!username) throw usage(line);
  let password = text(flags, 'password');
  if (bool(flags, 'password-stdin')) {
    if (password !== undefined) throw new MayflyError('INVALID_OPTION', '--password and --password-stdin are mutually exclusive');
    password = stdin().replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    process.stderr.write('mayfly: warning: a password on the command line is visible to other users; use --password-stdin\n');
  }
  if (!password) throw usage(line);
  // check before storing: a login that is not accepted must not replace one that was
  const config = await loadRegistryConfig({ file: `${mayflyHome()}/config.json` });
  const client = new RegistryClient(`${registryScheme(registry, config)}://${registryHost(registry)}`, { credentials: { username, password }, name: registry });
  await client.ping();
  await saveCredentials(registry, username, password, { home: mayflyHome() });
  process.stdout.write('Login Succeeded\n');
  return 0;
}

export async function pushCommand({ args }: ParsedCommand): Promise<number> {
  const r = await images().push(args[0]!, { onProgress: progressPrinter() });
  process.stdout.write(`${familiarName(parseReference(r.name))}: digest: ${r.digest}\n`);
  return 0;
}

export async function saveCommand({ flags, args }: ParsedCommand): Promise<number> {
  const output = text(flags, 'output');
  if (!output) throw usage('mayfly save -o FILE IMAGE...');
  await images().save(args, output);
  return 0;
}

export async function loadCommand({ flags }: ParsedCommand): Promise<number> {
  const input = text(flags, 'input');
  if (!input) throw usage('mayfly load -i FILE');
  return withRuntime(async (rt) => {
    for (const r of await rt.load(input)) {
      for (const n of r.names) process.stdout.write(`Loaded image: ${familiarName(parseReference(n))}\n`);
      if (!r.names.length) process.stdout.write(`Loaded image ID: ${r.id}\n`);
    }
    return 0;
  });
}
