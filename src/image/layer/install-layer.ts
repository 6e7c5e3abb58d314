/**
 * One layer blob into the store in a single pass: its bytes — from a registry as they arrive, or
 * from the store's blob file — flow once through the compressed digest (the source's job), a copy
 * into blobs/ (when the store does not have the blob yet), gunzip or zstd, the diff ID hash and the
 * hostile-layer extractor into a staging directory. The layer is renamed into layers/<chain ID>
 * only when both digests match; on any failure the staging directory and the blob copy are removed
 * and nothing of the layer stays. Runs in the sandbox, inside the user namespace.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { MayflyError } from '../../core/errors.js';
import { withFileLock } from '../../sys/locks.js';
import { shortDigest, type PullProgress } from '../progress.js';
import type { ImageStore, LayerRecord } from '../store/image-store.js';
import { extractLayer, type ChownPolicy } from './extract-layer.js';
import { ZSTD_MAGIC, zstdDecompressor } from './zstd.js';

export interface LayerSource {
  /**
   * The blob's bytes. A stream that is not already the store's verified blob file must fail
   * (DIGEST_MISMATCH) instead of ending when its bytes are not `digest`; `keep` asks for a copy of
   * them in the store's blobs (for push and save).
   */
  open(digest: string, size: number, signal: AbortSignal): Promise<{ stream: Readable; keep: boolean }>;
  /** whether a failure of `open`'s bytes deserves one fresh download (a registry's, not a file's) */
  retryMismatch: boolean;
}

export interface InstallLayerOptions {
  chown: ChownPolicy;
  onProgress?: (p: PullProgress) => void;
  onWarning?: (message: string) => void;
  signal: AbortSignal;
}

/** Installs `layer` unless the store has it; one process does it while the others wait (chain ID lock). */
export async function installLayer(store: ImageStore, layer: LayerRecord, source: LayerSource, opts: InstallLayerOptions): Promise<void> {
  const dest = store.layerPath(layer.chainId);
  if (existsSync(dest)) return;
  await withFileLock(store.lockPath(layer.chainId), async () => {
    if (existsSync(dest)) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await streamLayer(store, layer, source, opts, dest);
        return;
      } catch (e) {
        // corrupt once may be a proxy's or a mirror's accident: one fresh download, then it is final
        const again = source.retryMismatch && attempt === 0 && !opts.signal.aborted && e instanceof MayflyError && e.code === 'DIGEST_MISMATCH' && e.details.expected === layer.digest;
        if (!again) throw e;
      }
    }
  });
}

async function streamLayer(store: ImageStore, layer: LayerRecord, source: LayerSource, opts: InstallLayerOptions, dest: string): Promise<void> {
  const item = shortDigest(layer.digest);
  const { stream, keep } = await source.open(layer.digest, layer.size, opts.signal);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staged = `${dest}.extracting-${tag}`;
  const blobPath = store.blobPath(layer.digest);
  const blobCopy = keep && !existsSync(blobPath) ? `${blobPath}.partial-${tag}` : undefined;
  // undefined once closed: a second close could hit a number another layer's open has since been given
  let copyFd = blobCopy ? openSync(blobCopy, 'wx', 0o644) : undefined;
  const diff = createHash('sha256');
  // the compressed bytes: copied into the blob as they pass (page cache, synchronous: no second read)
  const compressed = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _e, cb) {
      // a throw here would not reach the pipeline but end the process (ENOSPC took the sandbox down)
      try {
        if (copyFd !== undefined) for (let off = 0; off < chunk.length; ) off += writeSync(copyFd, chunk, off);
      } catch (e) {
        cb(e as Error);
        return;
      }
      cb(null, chunk);
    },
  });
  const tar = new PassThrough({ highWaterMark: 1 << 20 });
  const hashed = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _e, cb) {
      diff.update(chunk);
      cb(null, chunk);
    },
  });
  // the source read through one iterator: its failure (a digest mismatch) is told apart from the stages'
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let sourceDone = false;
  let sourceError: unknown;
  const next = async (): Promise<IteratorResult<Buffer>> => {
    try {
      const r = await it.next();
      if (r.done) sourceDone = true;
      return r;
    } catch (e) {
      sourceError = e;
      throw e;
    }
  };
  try {
    // gzip, zstd or a plain tar, told by the first bytes (the media type may say `tar` for any)
    const head: Buffer[] = [];
    for (let n = 0; n < 4; ) {
      const r = await next();
      if (r.done) break;
      head.push(r.value);
      n += r.value.length;
    }
    const first = Buffer.concat(head);
    async function* bytes(): AsyncGenerator<Buffer> {
      if (first.length) yield first;
      for (let r = await next(); !r.done; r = await next()) yield r.value;
    }
    const kind = first[0] === 0x1f && first[1] === 0x8b ? 'gzip' : first.subarray(0, 4).equals(ZSTD_MAGIC) ? 'zstd' : 'none';
    // large inflater output chunks: zlib's 16 KiB default made gunzip ~1.5x slower
    const decompressor = kind === 'gzip' ? createGunzip({ chunkSize: 256 << 10 }) : kind === 'zstd' ? zstdDecompressor() : undefined;
    const input = Readable.from(bytes(), { objectMode: false, highWaterMark: 1 << 20 });
    const feeding = pipeline([input, compressed, ...(decompressor ? [decompressor] : []), hashed, tar], { signal: opts.signal });
    const extracting = extractLayer(tar, staged, { chown: opts.chown, ...(opts.onWarning ? { onWarning: opts.onWarning } : {}) });
    const [fed, extracted] = await Promise.allSettled([feeding, extracting]);
    if (extracted.status === 'rejected') throw extracted.reason;
    if (fed.status === 'rejected') throw fed.reason;
    const diffId = `sha256:${diff.digest('hex')}`;
    if (diffId !== layer.diffId) {
      throw new MayflyError('DIGEST_MISMATCH', `layer ${layer.digest} unpacks to ${diffId}, but the image config says ${layer.diffId}`, {
        hint: 'the image is corrupt or was altered: pull it again, or from another registry',
        details: { blob: layer.digest, expected: layer.diffId, actual: diffId },
      });
    }
    const { skipped } = extracted.value;
    if (skipped.length) opts.onWarning?.(`layer ${item}: skipped ${skipped.length} entries a rootless runtime cannot create (e.g. ${skipped[0]})`);
    opts.onProgress?.({ item, phase: 'extracting' });
    if (copyFd !== undefined) {
      const fd = copyFd;
      copyFd = undefined;
      closeSync(fd);
    }
    if (blobCopy) {
      if (existsSync(blobPath)) rmSync(blobCopy, { force: true });
      else renameSync(blobCopy, blobPath);
    }
    renameSync(staged, dest);
  } catch (e) {
    let reason = e;
    // bytes that do not unpack may simply be corrupt on the way: the rest is read (not kept) to
    // learn whether the blob matched its digest, which is then the reason to tell (and to retry)
    if (sourceError === undefined && !sourceDone && source.retryMismatch && !opts.signal.aborted) {
      try {
        while (!(await next()).done);
      } catch {
        // recorded in sourceError
      }
    }
    if (sourceError instanceof MayflyError && sourceError.code === 'DIGEST_MISMATCH') reason = sourceError;
    stream.destroy();
    if (copyFd !== undefined) closeSync(copyFd);
    if (blobCopy) rmSync(blobCopy, { force: true });
    rmSync(staged, { recursive: true, force: true });
    throw reason;
  }
}
