/**
 * A compose file's YAML as users write it: anchors and aliases, `<<` merge keys (YAML 1.1, which
 * compose files rely on), and the two tags the Compose Specification adds for merging files —
 * `!reset` (drop what a base file or `extends` gave this key) and `!override` (replace it instead
 * of merging).
 */
import { parse, type CollectionTag, type ScalarTag } from 'yaml';
import { MayflyError } from '../core/errors.js';

/** `!reset`: the key is removed from the merged result */
export const RESET = Symbol('compose !reset');

/** `!override`: the value replaces the base's instead of being merged into it */
export class Override {
  constructor(readonly value: unknown) {}
}

const reset = () => RESET;
// Docker's YAML reader takes a leading zero as octal (`mode: 0440`), as compose files expect.
const octal: ScalarTag = { identify: (v: unknown) => typeof v === 'number', default: true, tag: 'tag:yaml.org,2002:int', format: 'OCT', test: /^0[0-7]+$/, resolve: (s: string) => Number.parseInt(s, 8) };
const markerTags: (ScalarTag | CollectionTag)[] = [
  { tag: '!reset', identify: () => false, resolve: reset },
  { tag: '!reset', collection: 'map', identify: () => false, resolve: reset },
  { tag: '!reset', collection: 'seq', identify: () => false, resolve: reset },
  { tag: '!override', identify: () => false, resolve: (s: string) => new Override(s) },
  { tag: '!override', collection: 'map', identify: () => false, resolve: (m) => new Override(m.toJSON()) },
  { tag: '!override', collection: 'seq', identify: () => false, resolve: (s) => new Override(s.toJSON()) },
];

export function parseComposeYaml(text: string, file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, customTags: (tags) => [octal, ...tags, ...markerTags], uniqueKeys: true, maxAliasCount: 10_000 });
  } catch (e) {
    throw new MayflyError('INVALID_OPTION', `${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new MayflyError('INVALID_OPTION', `${file}: a compose file is a mapping (services:, networks:, …), not a ${Array.isArray(doc) ? 'list' : typeof doc}`);
  return doc as Record<string, unknown>;
}

/** Removes the merge markers once merging is done: a `!reset` key disappears, an `!override` is its value. */
export function withoutMarkers(v: unknown): unknown {
  if (v instanceof Override) return withoutMarkers(v.value);
  if (Array.isArray(v)) return v.filter((x) => x !== RESET).map(withoutMarkers);
  if (isMapping(v)) return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === RESET ? [] : [[k, withoutMarkers(x)]])));
  return v;
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Override);
}
