/**
 * Image references, parsed and normalised the way Docker does (distribution/reference), so that
 * `mongo`, `docker.io/library/mongo:latest` and `index.docker.io/library/mongo` name one image in
 * the cache and in error messages, and a reference Docker rejects is rejected here too.
 */
import { MayflyError } from '../core/errors.js';

export interface ImageReference {
  /** `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000` — a name, not an API host (see registryHost) */
  registry: string;
  /** `library/mongo`, `o/r` */
  repository: string;
  tag?: string;
  /** `sha256:<hex>`; when present it, not the tag, decides what is pulled */
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_LEGACY = 'index.docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const OFFICIAL_NAMESPACE = 'library/';
/** distribution/reference's NameTotalLengthMax */
const MAX_NAME_LENGTH = 255;

// The grammar of distribution/reference (regexp.go), one piece per line.
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainPattern = new RegExp(
  `^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
/** Docker refuses these as names because they read as image IDs. */
const imageIdPattern = /^[a-f0-9]{64}$/;
/** The algorithms go-digest registers, with their encoded lengths; it accepts lowercase hex only. */
const digestLengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function invalid(text: string, problem: string, hint?: string): MayflyError {
  return new MayflyError('REFERENCE_INVALID', `invalid image reference "${text}": ${problem}`, {
    ...(hint ? { hint } : {}),
    details: { reference: text },
  });
}

/** Parse `[registry/]repository[:tag][@digest]`; the tag defaults to `latest` when neither is given. */
export function parseReference(text: string): ImageReference {
  if (text === '') throw invalid(text, 'the reference is empty');
  if (imageIdPattern.test(text)) {
    throw invalid(text, 'a 64-character hexadecimal string is an image ID, not a repository name');
  }

  const at = text.indexOf('@');
  let nameAndTag = text;
  let digest: string | undefined;
  if (at !== -1) {
    nameAndTag = text.slice(0, at);
    digest = text.slice(at + 1);
    checkDigest(text, digest);
  }

  // A colon after the last slash separates the tag; one before it belongs to a registry port.
  let name = nameAndTag;
  let tag: string | undefined;
  const colon = nameAndTag.lastIndexOf(':');
  if (colon > nameAndTag.lastIndexOf('/')) {
    name = nameAndTag.slice(0, colon);
    tag = nameAndTag.slice(colon + 1);
    if (!tagPattern.test(tag)) {
      throw invalid(text, `"${tag}" is not a valid tag`, 'tags use letters, digits, _ . - (at most 128, not starting with . or -)');
    }
  }

  const { registry, repository } = splitRegistry(text, name);
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = 'latest';
  return ref;
}

/**
 * The first component is a registry only if it looks like a host (has a dot or a port, or is
 * localhost); otherwise `bitnami/redis` would be a registry called "bitnami". Docker Hub's official
 * images live under `library/`, which users never type.
 */
function splitRegistry(text: string, name: string): { registry: string; repository: string } {
  if (name === '') throw invalid(text, 'the repository name is missing');
  const slash = name.indexOf('/');
  let registry = DOCKER_HUB;
  let repository = name;
  if (slash !== -1) {
    const first = name.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      repository = name.slice(slash + 1);
      if (!domainPattern.test(registry)) throw invalid(text, `"${registry}" is not a valid registry host`);
    }
  }
  registry = normalizeRegistry(registry);
  if (repository === '') throw invalid(text, 'the repository name is missing');
  if (repository !== repository.toLowerCase()) {
    throw invalid(text, 'repository name must be lowercase', `try "${text.replace(repository, repository.toLowerCase())}"`);
  }
  for (const component of repository.split('/')) {
    if (!pathComponent.test(component)) {
      throw invalid(
        text,
        component === '' ? 'the repository name has an empty path component' : `"${component}" is not a valid repository path component`,
        'repository names use lowercase letters and digits, separated by . _ __ or -',
      );
    }
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = OFFICIAL_NAMESPACE + repository;
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    throw invalid(text, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  return { registry, repository };
}

function checkDigest(text: string, digest: string): void {
  if (!digestPattern.test(digest)) {
    throw invalid(text, `"${digest}" is not a valid digest`, 'a digest looks like sha256:<64 hex digits>');
  }
  const [algorithm = '', encoded = ''] = digest.split(':');
  const length = digestLengths[algorithm];
  if (length === undefined) throw invalid(text, `unsupported digest algorithm "${algorithm}" (known: sha256, sha384, sha512)`);
  if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded)) {
    throw invalid(text, `a ${algorithm} digest has ${length} lowercase hex digits`);
  }
}

/** Whether text is a registry name: `host`, `host:port`, `[ipv6]:port`. */
export function isRegistryName(text: string): boolean {
  return domainPattern.test(text);
}

/** The registry names that all mean Docker Hub collapse to `docker.io`. */
export function normalizeRegistry(registry: string): string {
  return registry === DOCKER_HUB_LEGACY || registry === DOCKER_HUB_API ? DOCKER_HUB : registry;
}

/** The fully qualified form, e.g. `docker.io/library/mongo:7`: what the cache keys on. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${suffix(ref)}`;
}

/** What Docker shows a user: `mongo:7`, `bitnami/redis:7`, `ghcr.io/o/r:tag`. */
export function familiarName(ref: ImageReference): string {
  let name = `${ref.registry}/${ref.repository}`;
  if (ref.registry === DOCKER_HUB) {
    const official = ref.repository.slice(OFFICIAL_NAMESPACE.length);
    // `library/a/b` keeps its prefix: dropping it would read back as the user repository `a/b`.
    name = ref.repository.startsWith(OFFICIAL_NAMESPACE) && !official.includes('/') ? official : ref.repository;
  }
  return name + suffix(ref);
}

function suffix(ref: ImageReference): string {
  return (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The host that serves the registry API: Docker Hub's name and its API host differ. */
export function registryHost(registry: string): string {
  return normalizeRegistry(registry) === DOCKER_HUB ? DOCKER_HUB_API : registry;
}
