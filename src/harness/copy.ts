/**
 * Files into and out of containers, Testcontainers' way: host files, directories or in-memory
 * content, before start (staged, then bound at their targets) or into a running container (as a tar
 * the sandbox unpacks through the container's root).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, createReadStream, createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { c as tarCreate, t as tarList } from 'tar';
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';

const absolute = z.string().refine((p) => p.startsWith('/'), { message: 'expected an absolute path' });

export const copyItemSchema = z.union([
  z.strictObject({ source: absolute, target: absolute, mode: z.number().int().min(0).max(0o7777).optional() }),
  z.strictObject({ content: z.union([z.string(), z.instanceof(Buffer)]), target: absolute, mode: z.number().int().min(0).max(0o7777).optional() }),
]);

/** `{ source: hostPath, target }` copies a file or directory; `{ content, target }` writes a file. */
export type CopyItem = z.input<typeof copyItemSchema>;

/** What the copy needs of a container: its root through the sandbox, and a scratch directory the sandbox can read. */
export interface CopyTarget {
  readonly name: string;
  readonly stagingDir: string;
  copyArchiveIn(archive: string, targetDir: string): Promise<void>;
  copyArchiveOut(path: string, archive: string): Promise<void>;
}

function scratch(stagingDir: string): string {
  const dir = join(stagingDir, randomBytes(8).toString('hex'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Puts the item on the host at `path` (what a bind mount or a tar will carry). */
function stage(item: CopyItem, path: string): void {
  if ('content' in item) writeFileSync(path, item.content);
  else {
    try {
      cpSync(item.source, path, { recursive: true, verbatimSymlinks: true });
    } catch (e) {
      throw new MayflyError('COPY_FAILED', `cannot copy ${item.source}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (item.mode !== undefined) chmodSync(path, item.mode);
}

/**
 * Before start: each item staged in a directory of the sandbox, to be bind-mounted at its target
 * (files appear owned by the container's root). Returns the binds and a clean-up.
 */
export function stageForStart(stagingDir: string, items: CopyItem[]): { binds: { source: string; target: string; readonly: boolean }[]; cleanup: () => void } {
  const dir = scratch(stagingDir);
  try {
    const binds = items.map((item, i) => {
      mkdirSync(join(dir, String(i)));
      const path = join(dir, String(i), posix.basename(item.target) || 'root');
      stage(item, path);
      return { source: path, target: item.target, readonly: false };
    });
    return { binds, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Into a running container: one tar per item, named as its target, unpacked in the target's directory. */
export async function copyToRunning(target: CopyTarget, items: CopyItem[]): Promise<void> {
  const dir = scratch(target.stagingDir);
  try {
    for (const [i, item] of items.entries()) {
      const name = posix.basename(item.target);
      if (!name) throw new MayflyError('INVALID_OPTION', `copy target ${item.target}: give a file or directory path, not /`);
      const staged = join(dir, String(i));
      mkdirSync(staged);
      stage(item, join(staged, name));
      const archive = join(dir, `${i}.tar`);
      await tarCreate({ file: archive, cwd: staged, portable: true }, [name]);
      await target.copyArchiveIn(archive, posix.dirname(item.target));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A tar (a Buffer or a stream) unpacked into `targetDir` of a running container. */
export async function copyArchiveToRunning(target: CopyTarget, archive: Buffer | Readable, targetDir: string): Promise<void> {
  const dir = scratch(target.stagingDir);
  try {
    const file = join(dir, 'in.tar');
    if (Buffer.isBuffer(archive)) await writeFile(file, archive);
    else await pipeline(archive, createWriteStream(file));
    await target.copyArchiveIn(file, targetDir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `path` of a running container as a tar stream (its last path component at the top). */
export async function copyFromRunning(target: CopyTarget, path: string): Promise<Readable> {
  const dir = scratch(target.stagingDir);
  const file = join(dir, 'out.tar');
  try {
    await target.copyArchiveOut(path, file);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const stream = createReadStream(file);
  stream.once('close', () => rmSync(dir, { recursive: true, force: true }));
  return stream;
}

/** One file of a running container, as bytes. */
export async function readFromRunning(target: CopyTarget, path: string): Promise<Buffer> {
  const tar = await copyFromRunning(target, path);
  const chunks: Buffer[] = [];
  let kind: string | undefined;
  await pipeline(
    tar,
    tarList({
      onReadEntry: (entry) => {
        kind ??= entry.type;
        if (entry.type === 'File') entry.on('data', (d: Buffer) => chunks.push(d));
        else entry.resume();
      },
    }),
  );
  if (kind !== 'File') throw new MayflyError('COPY_FAILED', `${path} in ${target.name} is not a regular file (${kind ?? 'nothing'})`);
  return Buffer.concat(chunks);
}

