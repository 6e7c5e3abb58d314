/**
 * A layer blob in another compression (`push --compression`): the same uncompressed tar — so the
 * same diff ID and image config — written as a new blob of the store under its own digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, existsSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { MediaType } from '../registry/media-types.js';
import type { ImageStore } from '../store/image-store.js';
import { ZSTD_MAGIC, zstdCompressor, zstdDecompressor } from './zstd.js';

export type Compression = 'gzip' | 'zstd';

export function compressionOfMediaType(mediaType: string): Compression | 'none' {
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  return 'none';
}

function sniff(path: string): Compression | 'none' {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(4);
  try {
    readSync(fd, b, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  return b.equals(ZSTD_MAGIC) ? 'zstd' : 'none';
}

export async function recompressBlob(store: ImageStore, digest: string, to: Compression): Promise<{ digest: string; size: number; mediaType: string }> {
  const src = store.blobPath(digest);
  const from = sniff(src);
  const hash = createHash('sha256');
  let size = 0;
  const tmp = join(store.blobsDir, `.recompress-${process.pid}-${randomBytes(4).toString('hex')}`);
  const stages: (Transform | Duplex)[] = [];
  if (from === 'gzip') stages.push(createGunzip());
  if (from === 'zstd') stages.push(zstdDecompressor());
  stages.push(to === 'zstd' ? zstdCompressor(3) : createGzip({ level: 6 }));
  stages.push(
    new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    }),
  );
  try {
    await pipeline([createReadStream(src), ...stages, createWriteStream(tmp)]);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const out = `sha256:${hash.digest('hex')}`;
  if (existsSync(store.blobPath(out))) rmSync(tmp);
  else renameSync(tmp, store.blobPath(out));
  return { digest: out, size, mediaType: to === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayerGzip };
}
