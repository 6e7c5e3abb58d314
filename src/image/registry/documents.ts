/**
 * Manifests and indexes as they arrive — from a registry, an archive — checked before anything is
 * done with them: every descriptor has a media type, a sha256 digest and a size that can be true,
 * and the lists are lists. A malformed one is MANIFEST_INVALID naming the image and the field,
 * never a TypeError deep in an install.
 */
import { z } from 'zod';
import { MayflyError } from '../../core/errors.js';
import type { ImageIndex, ImageManifest } from './media-types.js';

/** a layer or config larger than this is not one a test suite pulls: a lie, or an attack on the disk */
export const MAX_BLOB_SIZE = 64 * 1024 ** 3;
const MAX_LAYERS = 1000;
const MAX_INDEX_ENTRIES = 10_000;

const descriptor = z.looseObject({
  mediaType: z.string().min(1).max(255),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256: and 64 hex digits'),
  size: z.number().int().min(0).max(MAX_BLOB_SIZE),
  annotations: z.record(z.string(), z.string()).optional(),
});

const platform = z.looseObject({
  os: z.string().max(64),
  architecture: z.string().max(64),
  variant: z.string().max(64).optional(),
});

const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  config: descriptor,
  layers: z.array(descriptor).max(MAX_LAYERS),
});

const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  manifests: z.array(descriptor.extend({ platform: platform.optional() })).max(MAX_INDEX_ENTRIES),
});

function check<T>(schema: z.ZodType, doc: unknown, what: string, kind: string): T {
  const r = schema.safeParse(doc);
  if (r.success) return r.data as T;
  const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`);
  throw new MayflyError('MANIFEST_INVALID', `${what}: the ${kind} is malformed — ${issues.join('; ')}`, {
    hint: 'the registry or archive holds a broken image; push or save it again',
    details: { issues },
  });
}

export function parseManifestDocument(doc: unknown, what: string): ImageManifest {
  return check<ImageManifest>(manifestSchema, doc, what, 'image manifest');
}

export function parseIndexDocument(doc: unknown, what: string): ImageIndex {
  return check<ImageIndex>(indexSchema, doc, what, 'image index');
}
