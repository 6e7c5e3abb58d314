/**
 * Unpacks one image layer — a tar stream, gzip-compressed or not — into a directory that later
 * becomes a read-only overlayfs lower dir, mounted with `userxattr` inside mayfly's user namespace.
 * The tar is read by tar-reader.ts and written by layer-writer.ts (which holds the rules for
 * hostile layers).
 *
 * The layer is unpacked into `<dest>.partial-<pid>-<random>` and renamed to `dest` only when
 * complete; on any failure the partial directory is removed and `dest` never appears.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { MayflyError, isMayflyError } from '../../core/errors.js';
import { BlockReader, openTarStream, readEntries } from './tar-reader.js';
import { LayerWriter, lstatOrNull, removeTree, type ExtractLayerOptions, type ExtractLayerResult } from './layer-writer.js';

export type { ChownPolicy, ExtractLayerOptions, ExtractLayerResult } from './layer-writer.js';

/**
 * Extracts a layer into `dest`, which must not exist yet. Resolves with what was extracted;
 * rejects with MayflyError 'LAYER_REJECTED' for a hostile or malformed layer (the message names
 * the entry and the reason), 'INVALID_OPTION' when `dest` exists, 'ROOTFS_FAILED' when the file
 * system refuses an operation.
 */
export async function extractLayer(
  stream: NodeJS.ReadableStream,
  dest: string,
  opts: ExtractLayerOptions,
): Promise<ExtractLayerResult> {
  if (!['keep', 'tolerate', 'skip'].includes(opts.chown)) {
    throw new MayflyError('INVALID_OPTION', `extractLayer: chown must be keep, tolerate or skip, got "${String(opts.chown)}"`);
  }
  if (await lstatOrNull(dest)) {
    throw new MayflyError('INVALID_OPTION', `cannot extract a layer into ${dest}: it already exists`, {
      hint: 'extract into a new directory; a complete layer is never extracted twice',
    });
  }
  await fsp.mkdir(dirname(dest), { recursive: true });
  const partial = `${dest}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fsp.mkdir(partial, 0o700);

  const writer = new LayerWriter(partial, opts);
  let chunks: AsyncIterator<Buffer> | undefined;
  try {
    chunks = await openTarStream(stream);
    await readEntries(new BlockReader(chunks), writer);
    await writer.finish();
    await fsp.rename(partial, dest);
    writer.reportWarnings();
    return writer.result;
  } catch (e) {
    const err = asMayflyError(e, dest, writer.current);
    // Stop the producer with *this* error, so that a pipeline feeding `stream` fails with the
    // reason too instead of a bare "premature close".
    const destroyable = stream as { destroy?: (err?: Error) => void };
    if (typeof destroyable.destroy === 'function') destroyable.destroy(err);
    await chunks?.return?.(undefined).catch(() => {});
    await removeTree(partial).catch((rmErr: unknown) => {
      opts.onWarning?.(`could not remove the partial layer directory ${partial}: ${(rmErr as Error).message}`);
    });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: decompression, 512-byte framing, PAX and GNU long names

function asMayflyError(e: unknown, dest: string, entry: string | undefined): Error {
  if (isMayflyError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  const at = entry ? ` at "${entry}"` : '';
  if (typeof err?.code === 'string' && err.code.startsWith('Z_')) {
    return new MayflyError('LAYER_REJECTED', `layer rejected: its gzip data is corrupt${at}: ${err.message}`, { cause: e, details: { entry } });
  }
  return new MayflyError('ROOTFS_FAILED', `extracting a layer into ${dest} failed${at}: ${err?.message ?? String(e)}`, {
    cause: e,
    details: { entry, code: err?.code },
  });
}
