/**
 * `GET /images/json`: Docker's ImageSummary for each image of the store, and the list filters
 * clients use (`reference` globs on the familiar name, `dangling`, `label`, `before`/`since`).
 */
import type { ImageRecord } from '../image/store/image-store.js';
import { familiarName, parseReference } from '../image/reference.js';
import { apiError } from './route.js';

/** Names as Docker shows them: `busybox:latest`, `127.0.0.1:5000/app:1`. */
export const familiarTags = (r: ImageRecord) => r.names.map((n) => familiarName(parseReference(n)));

const unixSeconds = (iso: string | undefined) => Math.floor(new Date(iso ?? 0).getTime() / 1000) || 0;
export const createdOf = (r: ImageRecord) => r.config.created ?? r.pulledAt;

export function imageSummary(r: ImageRecord, containers: number, version: string): Record<string, unknown> {
  const tags = familiarTags(r);
  return {
    Id: r.id,
    ParentId: '',
    // before 1.44 an untagged image had the placeholder name
    RepoTags: tags.length || versionAtLeast(version, 1, 44) ? tags : ['<none>:<none>'],
    RepoDigests: r.manifestDigest ? tags.map((t) => `${t.replace(/:[^:/]+$/, '')}@${r.manifestDigest}`) : [],
    Created: unixSeconds(createdOf(r)),
    Size: r.size,
    SharedSize: -1,
    ...(versionAtLeast(version, 1, 44) ? {} : { VirtualSize: r.size }),
    Labels: r.config.config?.Labels ?? {},
    Containers: containers,
  };
}

export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** Go's path.Match for one name: `*` and `?` stop at `/`, `[…]` is a class. */
function globRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw apiError(400, `invalid reference filter: ${pattern}`);
      source += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = end;
    } else source += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The names a reference filter matches: Docker matches the name with its tag and without. */
function namesMatching(r: ImageRecord, patterns: string[]): string[] {
  const res = patterns.map(globRegExp);
  return r.names.filter((n) => {
    const tag = familiarName(parseReference(n));
    const name = tag.replace(/:[^:/]+$/, '');
    return res.some((re) => re.test(tag) || re.test(name));
  });
}

/** `key` or `key=value` against the image's labels. */
export function matchesLabels(labels: Record<string, string> | null | undefined, wanted: string[]): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    const key = eq < 0 ? w : w.slice(0, eq);
    return labels?.[key] !== undefined && (eq < 0 || labels[key] === w.slice(eq + 1));
  });
}

const truthy = (v: string) => v === '1' || v.toLowerCase() === 'true';

/** The images a list's filters keep (with the names a reference filter matched); `find` resolves the images `before`/`since` name. */
export function filterImages(records: ImageRecord[], filters: Record<string, string[]>, find: (ref: string) => ImageRecord | undefined): ImageRecord[] {
  let out = records;
  // as Docker lists them: only the matching names of each image that has one
  if (filters.reference?.length) out = out.map((r) => ({ ...r, names: namesMatching(r, filters.reference!) })).filter((r) => r.names.length);
  if (filters.dangling?.length) {
    const dangling = truthy(filters.dangling[0]!);
    out = out.filter((r) => (r.names.length === 0) === dangling);
  }
  if (filters.label?.length) out = out.filter((r) => matchesLabels(r.config.config?.Labels, filters.label!));
  for (const [key, keep] of [
    ['before', (a: number, b: number) => a < b],
    ['since', (a: number, b: number) => a > b],
  ] as const) {
    const ref = filters[key]?.[0];
    if (!ref) continue;
    const pivot = find(ref);
    if (!pivot) throw apiError(404, `No such image: ${ref}`);
    const at = new Date(createdOf(pivot)).getTime();
    out = out.filter((r) => keep(new Date(createdOf(r)).getTime(), at));
  }
  return out;
}
