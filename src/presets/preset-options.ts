/**
 * What every preset takes besides its own settings: which image (upstream's by default, by the name
 * upstream gives it, so registry mirrors and rewrites apply) and how long start-up may take. Each
 * preset validates all of its options at once, before anything starts; errors name the preset and
 * the field.
 */
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import { parseReference } from '../image/reference.js';
import { parseWith } from '../core/validate.js';

const TAG = /^[\w][\w.-]{0,127}$/;

export const imageOptions = {
  /** the repository (`postgres`, `my.mirror:5000/library/postgres`), optionally with a tag or digest; default upstream's */
  image: z.string().min(1).optional(),
  /** a tag of `image` (default: the preset's, e.g. `17` for postgres) */
  tag: z.string().regex(TAG, { message: 'expected a tag like "16" or "7.2-alpine" (letters, digits, _ . -)' }).optional(),
  /** milliseconds for pull-free start plus readiness; default 60 000 */
  startupTimeout: z.number().int().positive().optional(),
};

/** For the presets whose first start initialises: keep the initialised state and start from it afterwards. */
export const snapshotOption = {
  /** initialise once per configuration, then start from a snapshot of the initialised data (default true) */
  snapshot: z.boolean().default(true),
};

/** The image reference a preset runs: `image` (default `upstream`) with `tag` (default `defaultTag`) unless `image` names one. */
export function imageReference(preset: string, upstream: string, defaultTag: string, o: { image?: string | undefined; tag?: string | undefined }): string {
  const repository = o.image ?? upstream;
  const named = hasTagOrDigest(repository);
  if (named && o.tag !== undefined) {
    throw new MayflyError('INVALID_OPTION', `invalid presets.${preset} options:\n  tag: "${o.tag}" given, but image "${repository}" already names a tag or digest`, {
      hint: `give either image: "${repository}" or image without a tag and tag: "${o.tag}"`,
    });
  }
  const ref = named ? repository : `${repository}:${o.tag ?? defaultTag}`;
  parseReference(ref); // a bad name fails here, before anything starts
  return ref;
}

/** A tag is after the last slash's colon; a digest after `@` (a colon before the last slash is a registry port). */
function hasTagOrDigest(ref: string): boolean {
  return ref.includes('@') || ref.slice(ref.lastIndexOf('/') + 1).includes(':');
}

export function parsePresetOptions<S extends z.ZodType>(preset: string, schema: S, input: unknown): z.output<S> {
  return parseWith(schema, input ?? {}, `presets.${preset} options`);
}
