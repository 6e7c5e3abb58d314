/** The registry client and what its callers need to speak to it. */
export { RegistryClient } from './client.js';
export type {
  BlobDownloadOptions,
  BlobProgress,
  BlobUploadOptions,
  ManifestOptions,
  PulledManifest,
  RegistryClientOptions,
} from './client.js';
export type { RegistryCredentials } from './auth.js';
export { digestOf, isDigest, parseDigest } from './digest.js';
export {
  MediaType,
  MANIFEST_ACCEPT,
  isIndexMediaType,
  isManifestMediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type IndexEntry,
  type PlatformSpec,
} from './media-types.js';
export { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectManifest, type Platform } from './platform.js';
