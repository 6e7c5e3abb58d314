/**
 * Writes a layer directory in overlay's format (0/0 character devices for deletions, the
 * `user.overlay.opaque` xattr for opaque directories) as an OCI layer tar (`.wh.` files), entries
 * sorted so that the same directory always gives the same bytes. ustar headers, with PAX records
 * for long names, big ids and sizes.
 */
import { createReadStream, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import type { Writable } from 'node:stream';
import { isOpaque, isWhiteout } from './whiteouts.js';

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, type: string, st: { mode: number; uid: number; gid: number; size: number; mtime: number }, linkname = ''): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name.slice(0, 100), 0, 100, 'utf8');
  h.write(octal(st.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(Math.min(st.uid, 0o7777777), 8), 108, 'ascii');
  h.write(octal(Math.min(st.gid, 0o7777777), 8), 116, 'ascii');
  h.write(octal(Math.min(st.size, 0o77777777777), 12), 124, 'ascii');
  h.write(octal(Math.floor(st.mtime), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write(linkname.slice(0, 100), 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length > len) len++;
  return `${len}${body}`;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

interface Entry {
  name: string;
  type: '0' | '1' | '2' | '5';
  st: { mode: number; uid: number; gid: number; size: number; mtime: number };
  linkname?: string;
  source?: string;
}

/** Streams the tar of `dir` to `out` (which is not ended). Resolves once everything is written. */
export async function writeLayerTar(dir: string, out: Writable, skip: (rel: string, st: Stats) => boolean = () => false): Promise<void> {
  const seenInodes = new Map<string, string>();
  const write = (chunk: Buffer) => (out.write(chunk) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));

  const emit = async (e: Entry) => {
    const pax: string[] = [];
    if (Buffer.byteLength(e.name) > 100) pax.push(paxRecord('path', e.name));
    if (e.linkname && Buffer.byteLength(e.linkname) > 100) pax.push(paxRecord('linkpath', e.linkname));
    if (e.st.uid > 0o7777777) pax.push(paxRecord('uid', String(e.st.uid)));
    if (e.st.gid > 0o7777777) pax.push(paxRecord('gid', String(e.st.gid)));
    if (e.st.size > 0o77777777777) pax.push(paxRecord('size', String(e.st.size)));
    if (pax.length) {
      const body = Buffer.from(pax.join(''));
      await write(header('PaxHeader', 'x', { mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: e.st.mtime }));
      await write(Buffer.concat([body, padding(body.length)]));
    }
    await write(header(e.name, e.type, e.st, e.linkname));
    if (e.type === '0' && e.source && e.st.size > 0) {
      for await (const chunk of createReadStream(e.source)) await write(chunk as Buffer);
      await write(padding(e.st.size));
    }
  };

  const meta = (st: Stats, size = 0) => ({ mode: st.mode, uid: st.uid, gid: st.gid, size, mtime: st.mtimeMs / 1000 });
  const empty = (st: Stats) => ({ mode: 0o644, uid: 0, gid: 0, size: 0, mtime: st.mtimeMs / 1000 });

  const walk = async (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = join(dir, relPath);
      const st = lstatSync(full);
      if (skip(relPath, st)) continue;
      if ((st.isCharacterDevice() || (st.isFile() && st.size === 0)) && isWhiteout(full, st)) {
        await emit({ name: posix.join(rel, `.wh.${name}`), type: '0', st: empty(st) });
      } else if (st.isDirectory()) {
        await emit({ name: `${relPath}/`, type: '5', st: meta(st) });
        if (isOpaque(full)) await emit({ name: `${relPath}/.wh..wh..opq`, type: '0', st: empty(st) });
        await walk(relPath);
      } else if (st.isSymbolicLink()) {
        await emit({ name: relPath, type: '2', st: meta(st), linkname: readlinkSync(full) });
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seenInodes.get(inode) : undefined;
        if (first) await emit({ name: relPath, type: '1', st: meta(st), linkname: first });
        else {
          if (st.nlink > 1) seenInodes.set(inode, relPath);
          await emit({ name: relPath, type: '0', st: meta(st, st.size), source: full });
        }
      }
      // sockets, FIFOs and other devices have no place in an image layer
    }
  };
  await walk('');
  await write(Buffer.alloc(BLOCK * 2));
}
