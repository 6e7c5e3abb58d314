/**
 * The manifest media types mayfly understands, and the shapes of the documents behind them.
 * Docker's v2 schema 2 types and their OCI twins are equivalent for pulling; schema 1 is refused.
 */
export const MediaType = {
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

/** Schema 1 manifests (signed and unsigned): pre-2017 images, not supported. */
const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** The Accept header of a manifest request: the four types, index types first. */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
}

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface IndexEntry extends Descriptor {
  platform?: PlatformSpec;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: IndexEntry[];
  annotations?: Record<string, string>;
}

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest;
}

export function isSchema1MediaType(mediaType: string): boolean {
  return SCHEMA1_TYPES.has(mediaType);
}

/**
 * The media type of a manifest document: its own `mediaType` field when it has one, else the
 * Content-Type it was served with (an OCI manifest may omit the field), else guessed from shape.
 * Returns 'schema1' for schema 1 documents whatever they claim.
 */
export function manifestMediaType(doc: unknown, contentType: string | null): string {
  const d = (doc ?? {}) as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; layers?: unknown };
  if (d.schemaVersion === 1) return 'schema1';
  if (typeof d.mediaType === 'string' && d.mediaType !== '') return d.mediaType;
  const ct = contentType?.split(';')[0]?.trim().toLowerCase();
  if (ct && (isIndexMediaType(ct) || isManifestMediaType(ct) || isSchema1MediaType(ct))) return ct;
  if (Array.isArray(d.manifests)) return MediaType.OciIndex;
  if (Array.isArray(d.layers)) return MediaType.OciManifest;
  return ct ?? 'unknown';
}
