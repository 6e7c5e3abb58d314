/**
 * `mayfly cp`, with Docker's rules: CONTAINER:SRC → DEST and SRC → CONTAINER:DEST; into an existing
 * directory the source keeps its name, else it takes DEST's; `SRC/.` copies a directory's contents;
 * `-` is a tar stream on stdout (out) or stdin (in). The container must be running: the keeper
 * copies through its root, as the container resolves paths.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, createReadStream, createWriteStream, lstatSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { c as tarCreate, x as tarExtract } from 'tar';
import { directorySize } from '../core/files.js';
import { MayflyError } from '../core/errors.js';
import { keeper, type KeeperConnection } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import type { ParsedCommand } from './command-line/definition.js';
import { findContainer, isRunning } from './containers.js';
import { bytes } from './output/sizes.js';

/** `NAME:PATH` names a container path; a local path with a colon is written `./a:b` (Docker's rule). */
function containerPath(arg: string): { container: string; path: string } | undefined {
  if (arg.startsWith('/') || arg.startsWith('.')) return undefined;
  const i = arg.indexOf(':');
  if (i <= 0 || arg.slice(0, i).includes('/')) return undefined;
  return { container: arg.slice(0, i), path: arg.slice(i + 1) || '/' };
}

const contentsOf = (p: string) => p === '.' || p.endsWith('/.');

async function target(name: string): Promise<{ k: KeeperConnection; c: KeptContainer; scratch: string; done: () => void }> {
  const listed = findContainer(name);
  if (!isRunning(listed)) throw new MayflyError('CONTAINER_STATE', `container ${listed.name} is not running: mayfly cp copies through a running container's root`, { hint: `mayfly start ${listed.name}` });
  const k = await keeper();
  const c = await k.request<KeptContainer>({ op: 'describe', container: listed.id });
  const scratch = join(c.stagingDir, `cp-${randomBytes(6).toString('hex')}`);
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  return { k, c, scratch, done: () => rmSync(scratch, { recursive: true, force: true }) };
}

async function copyOut(from: { container: string; path: string }, dest: string): Promise<void> {
  const { k, c, scratch, done } = await target(from.container);
  try {
    const archive = join(scratch, 'out.tar');
    await k.request({ op: 'copy-out', container: c.id, path: from.path, archive });
    if (dest === '-') {
      await pipeline(createReadStream(archive), process.stdout, { end: false });
      return;
    }
    const unpacked = join(scratch, 'x');
    mkdirSync(unpacked);
    await tarExtract({ file: archive, cwd: unpacked, preserveOwner: false });
    const [top] = readdirSync(unpacked);
    const got = join(unpacked, top!);
    const to = resolve(dest);
    const existing = statSync(to, { throwIfNoEntry: false });
    if (contentsOf(from.path)) {
      if (existing && !existing.isDirectory()) throw new MayflyError('INVALID_OPTION', `cannot copy the contents of ${from.path} to ${dest}: not a directory`);
      mkdirSync(to, { recursive: true });
      for (const e of readdirSync(got)) cpSync(join(got, e), join(to, e), { recursive: true, force: true, verbatimSymlinks: true });
    } else if (existing?.isDirectory()) {
      cpSync(got, join(to, top!), { recursive: true, force: true, verbatimSymlinks: true });
    } else {
      if (dest.endsWith('/')) throw new MayflyError('INVALID_OPTION', `no such directory: ${dest}`);
      if (!statSync(dirname(to), { throwIfNoEntry: false })?.isDirectory()) throw new MayflyError('INVALID_OPTION', `no such directory: ${dirname(dest)}`);
      if (existing && lstatSync(got).isDirectory()) throw new MayflyError('INVALID_OPTION', `cannot copy a directory (${from.path}) onto a file (${dest})`);
      cpSync(got, to, { recursive: true, force: true, verbatimSymlinks: true });
    }
    process.stderr.write(`Successfully copied ${bytes(directorySize(unpacked) || statSync(got).size)} to ${dest}\n`);
  } finally {
    done();
  }
}

async function copyIn(src: string, to: { container: string; path: string }): Promise<void> {
  const { k, c, scratch, done } = await target(to.container);
  try {
    const archive = join(scratch, 'in.tar');
    const kind = await k.request<'dir' | 'file' | 'missing'>({ op: 'path-kind', container: c.id, path: to.path });
    let targetDir: string;
    if (src === '-') {
      // a tar stream, unpacked into a directory
      if (kind === 'file') throw new MayflyError('INVALID_OPTION', `cannot unpack a tar stream onto ${to.path}: a file, not a directory`);
      await pipeline(process.stdin, createWriteStream(archive));
      targetDir = to.path;
    } else {
      const source = resolve(src);
      const st = lstatSync(source, { throwIfNoEntry: false });
      if (!st) throw new MayflyError('INVALID_OPTION', `no such file or directory: ${src}`);
      if (contentsOf(src)) {
        if (kind === 'file') throw new MayflyError('INVALID_OPTION', `cannot copy the contents of ${src} onto ${to.path}: a file`);
        await tarCreate({ file: archive, cwd: source, portable: true }, ['.']);
        targetDir = to.path;
      } else if (kind === 'dir') {
        await tarCreate({ file: archive, cwd: dirname(source), portable: true }, [basename(source)]);
        targetDir = to.path;
      } else {
        if (to.path.endsWith('/')) throw new MayflyError('INVALID_OPTION', `no such directory in ${c.name}: ${to.path}`);
        if (kind === 'file' && st.isDirectory()) throw new MayflyError('INVALID_OPTION', `cannot copy a directory (${src}) onto a file (${to.path})`);
        // the source under DEST's name
        const name = posix.basename(to.path);
        const staged = join(scratch, 'stage');
        mkdirSync(staged);
        cpSync(source, join(staged, name), { recursive: true, verbatimSymlinks: true });
        await tarCreate({ file: archive, cwd: staged, portable: true }, [name]);
        targetDir = posix.dirname(to.path);
      }
    }
    await k.request({ op: 'copy-in', container: c.id, archive, targetDir });
    if (src !== '-') process.stderr.write(`Successfully copied ${bytes(statSync(archive).size)} to ${c.name}:${to.path}\n`);
  } finally {
    done();
  }
}

export async function cpCommand({ args }: ParsedCommand): Promise<number> {
  const [src, dest] = args as [string, string];
  const from = containerPath(src);
  const to = containerPath(dest);
  if (from && to) throw new MayflyError('INVALID_OPTION', 'copying between containers is not supported: copy to the host, then into the other one');
  if (!from && !to) throw new MayflyError('INVALID_OPTION', `one of SRC and DEST must be CONTAINER:PATH (got ${src} and ${dest})`, { hint: 'a local path with a colon is written ./a:b' });
  if (from) await copyOut(from, dest);
  else await copyIn(src, to!);
  return 0;
}
