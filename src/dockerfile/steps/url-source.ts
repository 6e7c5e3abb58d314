/**
 * `ADD https://…`: the file is downloaded (redirects followed) into the build's scratch directory,
 * checked against `--checksum` when one is given, and named after the URL's last path element.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dockerfileError } from '../dockerfile/errors.js';

export interface Downloaded {
  path: string;
  /** `sha256:…` of the bytes */
  digest: string;
  /** the URL's last path element, '' when it has none */
  name: string;
}

const CHECKSUM = /^(sha256|sha384|sha512):([0-9a-f]+)$/;

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export function checkChecksum(checksum: string, line: number): { algorithm: string; hex: string } {
  const m = CHECKSUM.exec(checksum);
  if (!m) throw dockerfileError(line, `--checksum=${checksum} is not a digest`, 'write --checksum=sha256:<64 hex digits>');
  return { algorithm: m[1]!, hex: m[2]! };
}

export function urlFileName(url: string): string {
  try {
    return decodeURIComponent(posix.basename(new URL(url).pathname));
  } catch {
    return '';
  }
}

export async function download(url: string, dir: string, line: number, checksum?: string, signal?: AbortSignal): Promise<Downloaded> {
  const want = checksum ? checkChecksum(checksum, line) : undefined;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', ...(signal ? { signal } : {}) });
  } catch (e) {
    throw dockerfileError(line, `ADD ${url}: the download failed: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`, 'check the URL and that this machine can reach it');
  }
  if (!res.ok || !res.body) throw dockerfileError(line, `ADD ${url}: the server answered ${res.status} ${res.statusText}`, 'check the URL');
  const path = join(dir, `download-${randomBytes(6).toString('hex')}`);
  const sha = createHash('sha256');
  const check = want ? createHash(want.algorithm) : undefined;
  try {
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          sha.update(chunk);
          check?.update(chunk);
          cb(null, chunk);
        },
      }),
      createWriteStream(path, { mode: 0o600 }),
    );
  } catch (e) {
    rmSync(path, { force: true });
    throw dockerfileError(line, `ADD ${url}: the download broke off: ${(e as Error).message}`);
  }
  if (want && check!.digest('hex') !== want.hex) {
    rmSync(path, { force: true });
    throw dockerfileError(line, `ADD ${url}: the file's ${want.algorithm} is not the --checksum given`, 'the file on the server changed, or the checksum is wrong: check both');
  }
  return { path, digest: `sha256:${sha.digest('hex')}`, name: urlFileName(url) };
}
