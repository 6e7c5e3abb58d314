/**
 * zstd for layers (`application/vnd.oci.image.layer.v1.tar+zstd`). Node's zlib has it from 22.15 /
 * 23.8 and is used where present. On Node 20, decompression (pull) is fzstd, a maintained pure-JS
 * decoder (no native code, nothing downloaded at install); compression (`--compression=zstd`) is
 * Debian's `zstd` program, streamed — the npm bindings either download prebuilt binaries at install
 * time or clash with the mongodb driver's optional peer.
 */
import { spawn } from 'node:child_process';
import { Duplex, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { MayflyError } from '../../core/errors.js';

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: () => Transform; createZstdCompress?: (o?: object) => Transform; constants: { ZSTD_c_compressionLevel?: number } };
const z = zlib as ZlibWithZstd;

export const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

export function zstdDecompressor(): Transform {
  if (z.createZstdDecompress) return z.createZstdDecompress();
  let decoder: Decompress;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      try {
        decoder.push(chunk);
        cb();
      } catch (e) {
        cb(new Error(`zstd data is corrupt: ${(e as Error).message}`));
      }
    },
    flush(cb) {
      try {
        decoder.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(new Error(`zstd data is corrupt or cut short: ${(e as Error).message}`));
      }
    },
  });
  decoder = new Decompress((data) => {
    t.push(Buffer.from(data));
  });
  return t;
}

export function zstdCompressor(level = 3): Duplex {
  if (z.createZstdCompress && z.constants.ZSTD_c_compressionLevel !== undefined) {
    return z.createZstdCompress({ params: { [z.constants.ZSTD_c_compressionLevel]: level } });
  }
  const child = spawn('zstd', [`-${level}`, '-q', '-c', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on('error', (e) => duplex.destroy(new MayflyError('ROOTFS_FAILED', `zstd compression needs the zstd program (apt install zstd), or Node 22.15+: ${e.message}`)));
  child.on('exit', (code) => {
    if (code) duplex.destroy(new MayflyError('ROOTFS_FAILED', `zstd exited with ${code}: ${stderr.trim()}`));
  });
  return duplex;
}
