import { createHash } from 'node:crypto';

/**
 * OCI chain IDs: a layer's identity together with everything below it, so the same diff on two
 * different parents is two different extracted directories, and the same stack is shared by every
 * image that has it. chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)).
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diff of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diff : `sha256:${createHash('sha256').update(`${parent} ${diff}`).digest('hex')}`);
  }
  return out;
}
