/** Content digests (`algorithm:hex`), as the OCI image spec defines them. */
import { createHash, type Hash } from 'node:crypto';

const ALGORITHMS: Record<string, { node: string; hexLength: number }> = {
  sha256: { node: 'sha256', hexLength: 64 },
  sha512: { node: 'sha512', hexLength: 128 },
};

export interface ParsedDigest {
  algorithm: string;
  hex: string;
}

/** `sha256:<64 hex>` or `sha512:<128 hex>`; undefined for anything else (a tag, say). */
export function parseDigest(value: string): ParsedDigest | undefined {
  const m = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-f0-9]+)$/.exec(value);
  if (!m) return undefined;
  const algorithm = m[1]!;
  const hex = m[2]!;
  const known = ALGORITHMS[algorithm];
  if (!known || hex.length !== known.hexLength) return undefined;
  return { algorithm, hex };
}

export function isDigest(value: string): boolean {
  return parseDigest(value) !== undefined;
}

/** A hash for the digest's algorithm (sha256 when no digest is given). */
export function hasherFor(digest?: string): { hash: Hash; algorithm: string } {
  const algorithm = (digest && parseDigest(digest)?.algorithm) || 'sha256';
  return { hash: createHash(ALGORITHMS[algorithm]!.node), algorithm };
}

/** The digest of some bytes, with the algorithm of `like` (sha256 by default). */
export function digestOf(data: Uint8Array, like?: string): string {
  const { hash, algorithm } = hasherFor(like);
  return `${algorithm}:${hash.update(data).digest('hex')}`;
}
