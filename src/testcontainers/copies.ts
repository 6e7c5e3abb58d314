/**
 * Testcontainers' copies before start (files, directories, content, tar archives) as the harness's
 * copy items: content streams are read into memory, and an archive is unpacked into a scratch
 * directory whose top-level entries are copied to the archive's target.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { x as tarExtract } from 'tar';
import type { CopyItem } from '../harness/copy.js';
import type { ArchiveToCopy, Content, ContentToCopy, DirectoryToCopy, FileToCopy } from './types.js';

export async function contentBytes(content: Content): Promise<string | Buffer> {
  if (typeof content === 'string' || Buffer.isBuffer(content)) return content;
  const chunks: Buffer[] = [];
  for await (const c of content as Readable) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

export function fileItems(files: (FileToCopy | DirectoryToCopy)[]): CopyItem[] {
  return files.map((f) => ({ source: f.source, target: f.target, ...(f.mode !== undefined ? { mode: f.mode } : {}) }));
}

export async function contentItems(contents: ContentToCopy[]): Promise<CopyItem[]> {
  return Promise.all(contents.map(async (c) => ({ content: await contentBytes(c.content), target: c.target, ...(c.mode !== undefined ? { mode: c.mode } : {}) })));
}

/** The archives unpacked (each into its own scratch directory); `cleanup()` removes them once the copies are made. */
export async function archiveItems(archives: ArchiveToCopy[]): Promise<{ items: CopyItem[]; cleanup: () => void }> {
  const dirs: string[] = [];
  const cleanup = () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  try {
    const items: CopyItem[] = [];
    for (const a of archives) {
      const dir = mkdtempSync(join(tmpdir(), 'mayfly-tc-archive-'));
      dirs.push(dir);
      await pipeline(a.tar, tarExtract({ cwd: dir, strict: true, preserveOwner: false }));
      for (const name of readdirSync(dir)) items.push({ source: join(dir, name), target: posix.join(a.target, name) });
    }
    return { items, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
