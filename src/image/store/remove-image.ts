/**
 * `mayfly rmi`, the part that changes records: a name is untagged; when an image loses its last name
 * (or is named by ID) its record goes, unless a live container uses it (then only with `force`, and
 * the container keeps its layers). Returns the content the image leaves behind that nothing else
 * uses, for the sandbox to delete (layer files may belong to subordinate ids).
 */
import { MayflyError } from '../../core/errors.js';
import { formatReference, parseReference } from '../reference.js';
import type { ImageStore } from './image-store.js';
import { liveContainers } from './live-containers.js';
import { notInStore } from './tag.js';
import { unreferencedContent, type Unreferenced } from './unreferenced.js';

export interface RemoveImageResult {
  untagged: string[];
  /** the image ID whose record was removed, if it was */
  deleted?: string;
  /** what to delete now: layers and blobs of the removed image that nothing else uses */
  content: Unreferenced;
}

const isId = (ref: string) => /^(sha256:)?[0-9a-f]{12,64}$/.test(ref);

export function removeImage(store: ImageStore, ref: string, opts: { force?: boolean } = {}): RemoveImageResult {
  const record = store.find(ref);
  if (!record) throw notInStore(ref);
  const byId = isId(ref) && !store.names()[safeFormat(ref)];
  if (!byId && record.names.length > 1) {
    const name = formatReference(parseReference(ref));
    store.untag(name);
    return { untagged: [name], content: { layers: [], blobs: [] } };
  }
  if (byId && record.names.length > 1 && !opts.force) {
    throw new MayflyError('IMAGE_IN_USE', `image ${ref} has ${record.names.length} names (${record.names.join(', ')}): remove them one by one, or force`, {
      hint: `mayfly rmi -f ${ref}`,
      details: { image: record.id, names: record.names },
    });
  }
  const users = liveContainers(store.home).filter((c) => c.imageId === record.id);
  if (users.length && !opts.force) {
    throw new MayflyError('IMAGE_IN_USE', `image ${ref} is used by container${users.length > 1 ? 's' : ''} ${users.map((c) => c.name).join(', ')}`, {
      hint: 'remove the container first, or force (the container keeps running on its layers)',
      details: { image: record.id, containers: users.map((c) => c.id) },
    });
  }
  store.forget(record.id);
  const content = unreferencedContent(store, {
    chainIds: record.layers.map((l) => l.chainId),
    blobs: [record.id, record.manifestDigest, ...record.layers.map((l) => l.digest)],
  });
  return { untagged: record.names, deleted: record.id, content };
}

function safeFormat(ref: string): string {
  try {
    return formatReference(parseReference(ref));
  } catch {
    return ref;
  }
}
