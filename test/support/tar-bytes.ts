/**
 * Tar archives written byte by byte, hostile ones included (`..` names, links out, writes through
 * a link): what a careful tar writer would never produce, and a reader must survive.
 */
export interface TarEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  content?: string | Buffer;
  /** symlink or hardlink target */
  target?: string;
  mode?: number;
  /** overrides the size field (a claimed size unlike the data that follows) */
  claimedSize?: number;
}

const TYPES = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;

/** One ustar header block. Names longer than 100 bytes are cut: use PAX records for those. */
export function tarHeader(e: TarEntry, dataLength: number, typeflag?: string): Buffer {
  const h = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => h.write(value, offset, length, 'utf8');
  const octal = (offset: number, length: number, value: number) => field(offset, length, value.toString(8).padStart(length - 1, '0').slice(-(length - 1)) + '\0');
  field(0, 100, e.name);
  octal(100, 8, e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, e.claimedSize ?? dataLength);
  octal(136, 12, 1_700_000_000);
  field(148, 8, '        ');
  field(156, 1, typeflag ?? TYPES[e.type ?? 'file']);
  if (e.target) field(157, 100, e.target);
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of h) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** A PAX extended header (type x) carrying `records`, for the entry that follows. */
export function paxHeader(records: Record<string, string>): Buffer {
  const body = Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length + 1;
      while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
      return `${len}${rest}`;
    })
    .join('');
  const data = Buffer.from(body);
  return Buffer.concat([tarHeader({ name: 'PaxHeader' }, data.length, 'x'), data, pad(data.length)]);
}

export function entryBytes(e: TarEntry): Buffer {
  const data = e.type === 'file' || e.type === undefined ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
  return Buffer.concat([tarHeader(e, data.length), data, pad(data.length)]);
}

/** Regular files from `files`, then `entries` as given, then the end-of-archive blocks. */
export function archive(files: Record<string, string | Buffer>, entries: TarEntry[] = []): Buffer {
  const all: TarEntry[] = [...Object.entries(files).map(([name, content]) => ({ name, content })), ...entries];
  return Buffer.concat([...all.map(entryBytes), Buffer.alloc(1024)]);
}
