/** `mayfly tag SOURCE TARGET`: another name for an image in the store, as `docker tag`. */
import { MayflyError } from '../../core/errors.js';
import { formatReference, parseReference } from '../reference.js';
import type { ImageRecord, ImageStore } from './image-store.js';

export function tagImage(store: ImageStore, source: string, target: string): ImageRecord {
  const record = store.find(source);
  if (!record) throw notInStore(source);
  const ref = parseReference(target);
  if (ref.digest) {
    throw new MayflyError('REFERENCE_INVALID', `cannot tag ${source} as ${target}: a tag names a repository and a tag, not a digest`, { hint: `e.g. mayfly tag ${source} my/app:1` });
  }
  return store.save(record, formatReference(ref));
}

export function notInStore(ref: string): MayflyError {
  return new MayflyError('IMAGE_NOT_FOUND', `no such image in the store: ${ref}`, {
    hint: `\`mayfly images\` lists what is there; \`mayfly pull ${ref}\` fetches it`,
    details: { image: ref },
  });
}
