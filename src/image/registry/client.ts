/**
 * A client for one OCI distribution registry (Docker Registry HTTP API v2): manifests and blobs
 * in both directions, with the registry's authentication, retries of transient failures, and
 * content verified against its digest before anything is kept.
 *
 * The caller decides http or https (the base URL) and where credentials come from.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MayflyError } from '../../core/errors.js';
import {
  authRequired,
  basicAuthorization,
  credentialsRefused,
  pickChallenge,
  repositoryScope,
  requestToken,
  TokenCache,
  type Action,
  type Challenge,
  type RegistryCredentials,
} from './auth.js';
import { digestOf, hasherFor, isDigest, parseDigest } from './digest.js';
import { parseIndexDocument, parseManifestDocument } from './documents.js';
import {
  isIndexMediaType,
  isManifestMediaType,
  isSchema1MediaType,
  MANIFEST_ACCEPT,
  manifestMediaType,
  type ImageIndex,
  type ImageManifest,
} from './media-types.js';
import { hostPlatform, selectManifest, type Platform } from './platform.js';
import {
  backoffDelay,
  classifyNetworkError,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  sleep,
  type RetryPolicy,
} from './retry.js';

export interface BlobProgress {
  digest: string;
  received: number;
  /** the expected size, when known */
  total: number | undefined;
}

export interface RegistryClientOptions {
  credentials?: RegistryCredentials;
  /** how the registry is called in messages and hints (default: the URL's host), e.g. `docker.io` */
  name?: string;
  userAgent?: string;
  /** attempts after the first for transient failures (default 3) */
  retries?: number;
  /** backoff tuning (tests shorten it) */
  retryDelay?: { baseMs?: number; maxMs?: number; maxRetryAfterMs?: number };
  /** blob download progress, at most every `progressIntervalMs` (default 100) and once at the end */
  onProgress?: (progress: BlobProgress) => void;
  progressIntervalMs?: number;
}

export interface ManifestOptions {
  /** which image of an index to take (default: this host's platform) */
  platform?: Platform;
}

export interface PulledManifest {
  /** the digest of `raw` */
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
  raw: Buffer;
  /** the index the manifest was chosen from, when the reference named an index */
  index?: { digest: string; mediaType: string; manifest: ImageIndex; raw: Buffer };
}

export interface BlobDownloadOptions {
  /** the size the descriptor promises; checked, and used for progress */
  size?: number;
  onProgress?: (progress: BlobProgress) => void;
  signal?: AbortSignal;
}

export interface BlobUploadOptions {
  /** upload in PATCH requests of this many bytes (default: one monolithic PUT) */
  chunkSize?: number;
}

interface Call {
  method: string;
  url: URL;
  repo: string;
  actions: readonly Action[];
  /** scopes beyond the repository's own (a cross-repository mount's source) */
  extraScopes?: string[];
  headers?: Record<string, string>;
  /** made anew for each attempt, so a stream body can be retried */
  body?: () => RequestInit['body'];
  /** what is being fetched, for messages: "manifest latest of library/alpine" */
  what: string;
  /** false for requests that must not be repeated (a PATCH that may have half-written) */
  retry?: boolean;
  signal?: AbortSignal;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export class RegistryClient {
  /** e.g. `127.0.0.1:5000`, used in messages and the login hint */
  readonly name: string;
  readonly baseUrl: URL;
  readonly #credentials: RegistryCredentials | undefined;
  readonly #userAgent: string;
  readonly #retry: RetryPolicy;
  readonly #onProgress: ((p: BlobProgress) => void) | undefined;
  readonly #progressIntervalMs: number;
  readonly #tokens = new TokenCache();
  readonly #pendingTokens = new Map<string, Promise<string>>();
  /** the registry's challenge, once seen: later requests authenticate up front */
  #challenge: Challenge | undefined;

  constructor(baseUrl: string, options: RegistryClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new MayflyError('INVALID_OPTION', `registry URL "${baseUrl}" is not an http(s) URL`, {
        hint: 'pass the registry as e.g. https://registry-1.docker.io or http://127.0.0.1:5000',
      });
    }
    url.pathname = url.pathname.replace(/\/+$/, '') + '/';
    url.search = '';
    url.hash = '';
    this.baseUrl = url;
    this.name = options.name ?? url.host;
    this.#credentials = options.credentials;
    this.#userAgent = options.userAgent ?? 'mayfly';
    this.#retry = {
      retries: options.retries ?? DEFAULT_RETRY_POLICY.retries,
      baseDelayMs: options.retryDelay?.baseMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
      maxDelayMs: options.retryDelay?.maxMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
      maxRetryAfterMs: options.retryDelay?.maxRetryAfterMs ?? DEFAULT_RETRY_POLICY.maxRetryAfterMs,
    };
    this.#onProgress = options.onProgress;
    this.#progressIntervalMs = options.progressIntervalMs ?? 100;
  }

  /**
   * GET /v2/, authenticated as the registry demands: resolves when the registry speaks the API and
   * accepts the credentials (what `login` checks), REGISTRY_AUTH when it refuses them.
   */
  async ping(): Promise<void> {
    const what = 'API version check';
    const res = await this.#call({ method: 'GET', url: new URL('v2/', this.baseUrl), repo: '', actions: [], what });
    if (!res.ok) throw await this.#failure(res, '', what);
    await discard(res);
  }

  /**
   * The repositories the registry lists (GET /v2/_catalog, page by page through its Link header,
   * at most `max`). A registry without a catalog (Docker Hub, most hosted ones) answers 404 or
   * 401/403: REGISTRY_ERROR saying so.
   */
  async catalog(max = 10_000): Promise<string[]> {
    const what = 'catalog';
    const out: string[] = [];
    let url: URL | undefined = new URL('v2/_catalog?n=1000', this.baseUrl);
    while (url && out.length < max) {
      const res = await this.#call({ method: 'GET', url, repo: '', actions: [], extraScopes: ['registry:catalog:*'], what });
      if (res.status === 404 || res.status === 401 || res.status === 403) {
        await discard(res);
        throw new MayflyError('REGISTRY_ERROR', `${this.name} has no catalog to search (it answered ${res.status} to GET /v2/_catalog)`, { details: { registry: this.name, status: res.status } });
      }
      if (!res.ok) throw await this.#failure(res, '', what);
      const body = (await res.json()) as { repositories?: string[] };
      out.push(...(body.repositories ?? []));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
      url = next ? new URL(next, this.baseUrl) : undefined;
    }
    return out.slice(0, max);
  }

  // ---------------------------------------------------------------------------------------------
  // pull

  /**
   * The manifest `reference` (a tag or a digest) names; for an index, the manifest of `platform`
   * (default: this host's). A digest reference is verified against the bytes received.
   */
  async getManifest(repo: string, reference: string, options: ManifestOptions = {}): Promise<PulledManifest> {
    const image = this.#imageName(repo, reference);
    const first = await this.#fetchManifest(repo, reference, image);
    if (!isIndexMediaType(first.mediaType)) {
      return { ...first, manifest: parseManifestDocument(first.document, image) };
    }
    const index = parseIndexDocument(first.document, image);
    const entry = selectManifest(index, options.platform ?? hostPlatform(), image);
    const chosen = await this.#fetchManifest(repo, entry.digest, image);
    if (!isManifestMediaType(chosen.mediaType)) {
      throw new MayflyError('MANIFEST_UNSUPPORTED', `${image}: the index entry ${entry.digest} is a ${chosen.mediaType}, not an image manifest`, {
        details: { image, digest: entry.digest, mediaType: chosen.mediaType },
      });
    }
    return {
      digest: chosen.digest,
      mediaType: chosen.mediaType,
      manifest: parseManifestDocument(chosen.document, `${image} (${entry.digest})`),
      raw: chosen.raw,
      index: { digest: first.digest, mediaType: first.mediaType, manifest: index, raw: first.raw },
    };
  }

  /** The digest `reference` resolves to, or undefined when there is no such manifest. A HEAD does
   * not count against Docker Hub's pull rate limit. */
  async headManifest(repo: string, reference: string): Promise<string | undefined> {
    const res = await this.#call({
      method: 'HEAD',
      url: this.#url(repo, `manifests/${reference}`),
      repo,
      actions: ['pull'],
      headers: { accept: MANIFEST_ACCEPT },
      what: `manifest ${reference} of ${repo}`,
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw await this.#failure(res, repo, `manifest ${reference} of ${repo}`);
    await discard(res);
    const digest = res.headers.get('docker-content-digest') ?? undefined;
    if (digest === undefined && isDigest(reference)) return reference;
    return digest;
  }

  /**
   * Downloads a blob to `dest`: streamed into `dest.partial` while hashed, then checked against
   * `digest` (and `size`) and renamed into place. A connection dropped mid-body resumes where it
   * stopped when the registry honours Range (else starts over); content that does not match its
   * digest is fetched once more from scratch, then refused. A failure leaves no file behind.
   */
  async getBlob(repo: string, digest: string, dest: string, options: BlobDownloadOptions = {}): Promise<{ digest: string; size: number }> {
    requireDigest(digest);
    const partial = `${dest}.partial`;
    await mkdir(dirname(dest), { recursive: true });
    await rm(partial, { force: true }); // a download that died with its process: not ours to resume
    for (let fresh = 0; ; fresh++) {
      try {
        // blobStream resumes a dropped connection and fails, rather than ends, on a digest mismatch
        await pipeline(this.blobStream(repo, digest, options), createWriteStream(partial, { mode: 0o644 }), { ...(options.signal ? { signal: options.signal } : {}) });
        const { size } = await stat(partial);
        await rename(partial, dest);
        return { digest, size };
      } catch (error) {
        await rm(partial, { force: true });
        // corrupt once may be a proxy's or a mirror's accident: one fresh download, then it is final
        if (error instanceof MayflyError && error.code === 'DIGEST_MISMATCH' && fresh === 0 && !options.signal?.aborted) continue;
        throw error;
      }
    }
  }

  /**
   * A blob's bytes as they arrive, for a caller that consumes them once (a layer streamed into the
   * store): counted against `size`, hashed, and the stream fails with DIGEST_MISMATCH instead of
   * ending when they are not `digest` — so nothing downstream may commit before the end. A
   * connection dropped mid-body resumes from what was passed on (Range; when the registry ignores
   * it, the bytes already passed on are skipped). A fresh download after a mismatch is the caller's.
   */
  blobStream(repo: string, digest: string, options: BlobDownloadOptions = {}): Readable {
    requireDigest(digest);
    return Readable.from(this.#blobChunks(repo, digest, options), { objectMode: false, highWaterMark: 1 << 20 });
  }

  async *#blobChunks(repo: string, digest: string, options: BlobDownloadOptions): AsyncGenerator<Buffer> {
    const what = `blob ${digest} of ${repo}`;
    const { hash, algorithm } = hasherFor(digest);
    const onProgress = options.onProgress ?? this.#onProgress;
    const expectedSize = options.size;
    let received = 0;
    let lastReport = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#openBlob(repo, digest, what, options.signal, received);
        // 206: the rest after what was passed on; 200: everything again, the first `received` bytes skipped
        let skip = received > 0 && res.status === 206 && (res.headers.get('content-range') ?? '').startsWith(`bytes ${received}-`) ? 0 : received;
        if (!res.body) throw new MayflyError('REGISTRY_ERROR', `${this.name} sent ${what} without a body`);
        const total = expectedSize ?? (res.headers.get('content-length') ? received - skip + Number(res.headers.get('content-length')) : undefined);
        for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
          let chunk = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
            if (!chunk.length) continue;
          }
          received += chunk.length;
          if (expectedSize !== undefined && received > expectedSize) {
            throw blobMismatch(this.name, what, digest, undefined, `more than the ${expectedSize} bytes its descriptor promises`, expectedSize, received);
          }
          hash.update(chunk);
          const now = Date.now();
          if (onProgress && now - lastReport >= this.#progressIntervalMs) {
            lastReport = now;
            onProgress({ digest, received, total });
          }
          yield chunk;
        }
        break;
      } catch (error) {
        if (error instanceof MayflyError || options.signal?.aborted) throw error;
        const failure = classifyNetworkError(error);
        // a connection dropped mid-body: go on from what was passed on
        if (failure.kind === 'transient' && attempt < this.#retry.retries) {
          await sleep(backoffDelay(attempt, this.#retry));
          continue;
        }
        if (failure.kind !== 'other') throw this.#unreachable(new URL(this.baseUrl), failure.reason, what, error);
        throw error;
      }
    }
    onProgress?.({ digest, received, total: expectedSize ?? received });
    const actual = `${algorithm}:${hash.digest('hex')}`;
    if (expectedSize !== undefined && received !== expectedSize) throw blobMismatch(this.name, what, digest, actual, ` (${received} bytes, expected ${expectedSize})`, expectedSize, received);
    if (actual !== digest) throw blobMismatch(this.name, what, digest, actual, '', expectedSize, received);
  }

  // ---------------------------------------------------------------------------------------------
  // push

  async blobExists(repo: string, digest: string): Promise<boolean> {
    const what = `blob ${digest} of ${repo}`;
    const res = await this.#call({ method: 'HEAD', url: this.#url(repo, `blobs/${digest}`), repo, actions: ['pull'], what });
    if (res.status === 404) return false;
    if (!res.ok && !(res.status >= 300 && res.status < 400)) throw await this.#failure(res, repo, what);
    await discard(res);
    return true;
  }

  /**
   * Asks the registry to link a blob `fromRepo` already holds into `repo`. True when mounted
   * (201); false when the registry declined (202) — then upload the blob instead.
   */
  async mountBlob(repo: string, digest: string, fromRepo: string): Promise<boolean> {
    const url = this.#url(repo, 'blobs/uploads/');
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', fromRepo);
    const what = `mount of ${digest} from ${fromRepo} into ${repo}`;
    const res = await this.#call({
      method: 'POST',
      url,
      repo,
      actions: ['pull', 'push'],
      extraScopes: [repositoryScope(fromRepo, ['pull'])],
      headers: { 'content-length': '0' },
      what,
    });
    if (res.status !== 201 && res.status !== 202) throw await this.#failure(res, repo, what);
    await discard(res);
    if (res.status === 201) return true;
    {
      // the registry opened an upload session instead; close it rather than leave it to expire
      const location = res.headers.get('location');
      if (location) {
        const cancel = await this.#call({ method: 'DELETE', url: new URL(location, url), repo, actions: ['pull', 'push'], what, retry: false }).catch(() => undefined);
        if (cancel) await discard(cancel);
      }
      return false;
    }
  }

  /**
   * Uploads the file `source` as blob `digest`: one PUT, or PATCHes of `chunkSize` bytes then a
   * closing PUT. The registry checks the digest (a mismatch is DIGEST_MISMATCH).
   */
  async uploadBlob(repo: string, digest: string, source: string, options: BlobUploadOptions = {}): Promise<string> {
    if (!parseDigest(digest)) throw new MayflyError('INVALID_OPTION', `"${digest}" is not a digest`);
    const { chunkSize } = options;
    if (chunkSize !== undefined && (!Number.isInteger(chunkSize) || chunkSize <= 0)) {
      throw new MayflyError('INVALID_OPTION', `chunkSize must be a positive integer, not ${chunkSize}`);
    }
    const { size } = await stat(source);
    const what = `upload of ${digest} to ${repo}`;
    const actions: Action[] = ['pull', 'push'];

    const started = await this.#call({ method: 'POST', url: this.#url(repo, 'blobs/uploads/'), repo, actions, headers: { 'content-length': '0' }, what });
    if (started.status !== 202) throw await this.#failure(started, repo, what);
    await discard(started);
    let location = this.#location(started, this.#url(repo, 'blobs/uploads/'), what);

    let closing: Call;
    if (chunkSize === undefined) {
      const url = withDigest(location, digest);
      closing = {
        method: 'PUT', url, repo, actions, what,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: () => Readable.toWeb(createReadStream(source)) as unknown as RequestInit['body'],
        // a failed body may have left bytes in the session; the caller retries the whole upload
        retry: false,
      };
    } else {
      const file = await open(source, 'r');
      try {
        for (let offset = 0; offset < size; ) {
          const buffer = Buffer.alloc(Math.min(chunkSize, size - offset));
          const { bytesRead } = await file.read(buffer, 0, buffer.length, offset);
          if (bytesRead === 0) throw new MayflyError('INVALID_OPTION', `${source} shrank while it was uploaded`);
          const chunk = buffer.subarray(0, bytesRead);
          const res = await this.#call({
            method: 'PATCH', url: location, repo, actions, what, retry: false,
            headers: {
              'content-type': 'application/octet-stream',
              'content-range': `${offset}-${offset + bytesRead - 1}`,
              'content-length': String(bytesRead),
            },
            body: () => chunk,
          });
          if (res.status !== 202) throw await this.#failure(res, repo, what);
          await discard(res);
          location = this.#location(res, location, what);
          offset += bytesRead;
        }
      } finally {
        await file.close();
      }
      closing = { method: 'PUT', url: withDigest(location, digest), repo, actions, what, headers: { 'content-length': '0' } };
    }
    const res = await this.#call(closing);
    if (res.status !== 201) throw await this.#failure(res, repo, what);
    await discard(res);
    return res.headers.get('docker-content-digest') ?? digest;
  }

  /** Stores a manifest (or index) under `tag` (or its digest); returns its digest. */
  async putManifest(repo: string, tag: string, raw: Buffer, mediaType: string): Promise<string> {
    const digest = digestOf(raw);
    const what = `manifest ${tag} of ${repo}`;
    const res = await this.#call({
      method: 'PUT',
      url: this.#url(repo, `manifests/${tag}`),
      repo,
      actions: ['pull', 'push'],
      headers: { 'content-type': mediaType },
      body: () => raw,
      what,
    });
    if (res.status !== 201) throw await this.#failure(res, repo, what);
    await discard(res);
    return digest;
  }

  // ---------------------------------------------------------------------------------------------
  // manifests and blobs, the details

  async #fetchManifest(repo: string, reference: string, image: string): Promise<{ digest: string; mediaType: string; document: unknown; raw: Buffer }> {
    const what = `manifest ${reference} of ${repo}`;
    const res = await this.#call({
      method: 'GET',
      url: this.#url(repo, `manifests/${reference}`),
      repo,
      actions: ['pull'],
      headers: { accept: MANIFEST_ACCEPT },
      what,
    });
    if (!res.ok) {
      throw await this.#failure(res, repo, what, () =>
        new MayflyError('IMAGE_NOT_FOUND', `image ${image} not found: ${this.name} has no manifest ${reference} in ${repo}`, {
          hint: `check the repository name and the ${isDigest(reference) ? 'digest' : 'tag'}, and that the image was pushed to ${this.name}`,
          details: { registry: this.name, repository: repo, reference },
        }),
      );
    }
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_MANIFEST_BYTES) {
      await discard(res);
      throw new MayflyError('MANIFEST_UNSUPPORTED', `${image}: the manifest is ${declared} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have`);
    }
    const raw = Buffer.from(await res.arrayBuffer());
    const digest = digestOf(raw, isDigest(reference) ? reference : undefined);
    if (isDigest(reference) && digest !== reference) {
      throw new MayflyError('DIGEST_MISMATCH', `${this.name} sent a manifest for ${image} whose digest is ${digest}, not ${reference}`, {
        hint: 'the registry or something between it and you altered the content; try again or use another mirror',
        details: { registry: this.name, repository: repo, expected: reference, actual: digest },
      });
    }
    let document: unknown;
    try {
      document = JSON.parse(raw.toString('utf8'));
    } catch (cause) {
      throw new MayflyError('REGISTRY_ERROR', `${this.name} sent a manifest for ${image} that is not JSON`, { cause, details: { registry: this.name, repository: repo } });
    }
    const mediaType = manifestMediaType(document, res.headers.get('content-type'));
    if (mediaType === 'schema1' || isSchema1MediaType(mediaType)) {
      throw new MayflyError('MANIFEST_UNSUPPORTED', `${image} is a Docker schema 1 image, which mayfly does not support`, {
        hint: 'push the image again with a current Docker or buildah (schema 2 / OCI)',
        details: { image, mediaType },
      });
    }
    if (!isIndexMediaType(mediaType) && !isManifestMediaType(mediaType)) {
      throw new MayflyError('MANIFEST_UNSUPPORTED', `${image} is a ${mediaType}, not an image`, { details: { image, mediaType } });
    }
    return { digest, mediaType, document, raw };
  }

  /** GET the blob, following redirects by hand: Authorization never goes to another origin. */
  async #openBlob(repo: string, digest: string, what: string, signal: AbortSignal | undefined, from = 0): Promise<Response> {
    let url = this.#url(repo, `blobs/${digest}`);
    // identity: fetch would otherwise undo a Content-Encoding and the bytes would not be the blob's
    const headers: Record<string, string> = { 'accept-encoding': 'identity', ...(from > 0 ? { range: `bytes=${from}-` } : {}) };
    const call = (u: URL): Call => ({ method: 'GET', url: u, repo, actions: ['pull'], headers, what, ...(signal ? { signal } : {}) });
    let res = await this.#call(call(url));
    for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.get('location'); hops++) {
      await discard(res);
      if (hops >= MAX_REDIRECTS) {
        throw new MayflyError('REGISTRY_ERROR', `${this.name} redirected ${what} more than ${MAX_REDIRECTS} times`, { details: { registry: this.name, url: url.href } });
      }
      url = new URL(res.headers.get('location')!, url);
      res = await this.#call(call(url)); // #call authenticates only requests to the registry's origin
    }
    if (!res.ok) {
      throw await this.#failure(res, repo, what, () =>
        new MayflyError('REGISTRY_ERROR', `${this.name} has no blob ${digest} in ${repo}`, {
          hint: 'the image manifest names a blob the registry does not have; the image may be incomplete',
          details: { registry: this.name, repository: repo, digest },
        }),
      );
    }
    return res;
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP: authentication, retries, errors

  #url(repo: string, rest: string): URL {
    return new URL(`v2/${repo}/${rest}`, this.baseUrl);
  }

  #imageName(repo: string, reference: string): string {
    return `${this.name}/${repo}${isDigest(reference) ? '@' : ':'}${reference}`;
  }

  #location(res: Response, requestUrl: URL, what: string): URL {
    const location = res.headers.get('location');
    if (!location) {
      throw new MayflyError('REGISTRY_ERROR', `${this.name} answered the ${what} without a Location`, { details: { registry: this.name, status: res.status } });
    }
    return new URL(location, requestUrl); // relative or absolute, both appear in the wild
  }

  /**
   * One request to the registry, authenticated as it demands: anonymous at first; after a 401
   * with the challenge's scheme (and from then on up front). Requests to other origins (a
   * redirect to a CDN, an upload URL elsewhere) go without credentials.
   */
  async #call(call: Call): Promise<Response> {
    if (call.url.origin !== this.baseUrl.origin) return this.#send(call, undefined);
    // a call without actions (the API check of a login) asks for a token of no scope, as `docker login` does
    const scopes = [...(call.actions.length ? [repositoryScope(call.repo, call.actions)] : []), ...(call.extraScopes ?? [])];

    let sent = this.#challenge ? await this.#authorize(this.#challenge, scopes, call.repo, false) : undefined;
    let res = await this.#send(call, sent?.header);
    if (res.status !== 401) return res;
    await discard(res);

    const challenge = pickChallenge(res.headers.get('www-authenticate'));
    if (!challenge) {
      if (!this.#credentials) throw authRequired(this.name, call.repo);
      throw credentialsRefused(this.name, call.repo, 'the registry answered 401 without a challenge mayfly understands');
    }
    if (sent && !sent.fromCache) throw this.#refused(call.repo, challenge);
    // first contact, or a cached token the registry no longer accepts: authenticate afresh
    this.#challenge = challenge;
    sent = await this.#authorize(challenge, scopes, call.repo, true);
    res = await this.#send(call, sent.header);
    if (res.status !== 401) return res;
    await discard(res);
    throw this.#refused(call.repo, pickChallenge(res.headers.get('www-authenticate')) ?? challenge);
  }

  #refused(repo: string, challenge: Challenge): MayflyError {
    if (!this.#credentials) return authRequired(this.name, repo);
    return credentialsRefused(this.name, repo, challenge.params.error);
  }

  /** The Authorization header for `challenge`; `fresh` skips the token cache. */
  async #authorize(challenge: Challenge, scopes: string[], repo: string, fresh: boolean): Promise<{ header: string; fromCache: boolean }> {
    const credentials = this.#credentials;
    if (challenge.scheme === 'basic') {
      if (!credentials) throw authRequired(this.name, repo);
      if ('identityToken' in credentials) throw credentialsRefused(this.name, repo, 'the registry wants a username and password, not an identity token');
      return { header: basicAuthorization(credentials), fromCache: false };
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) {
      throw new MayflyError('REGISTRY_AUTH', `${this.name} asks for ${challenge.scheme} authentication, which mayfly does not speak`, {
        details: { registry: this.name, repository: repo, scheme: challenge.scheme },
      });
    }
    const key = TokenCache.key(challenge, scopes);
    if (fresh) this.#tokens.delete(key);
    else {
      const cached = this.#tokens.get(key);
      if (cached) return { header: `Bearer ${cached}`, fromCache: true };
    }
    // parallel requests for the same scopes share one token request
    let pending = this.#pendingTokens.get(key);
    if (!pending) {
      pending = requestToken({
        registry: this.name,
        repo,
        challenge,
        scopes,
        credentials,
        send: (url, init, what) => this.#send({ method: init.method ?? 'GET', url, repo, actions: [], what, body: () => init.body, headers: init.headers as Record<string, string> }, undefined),
      }).then(({ token, expiresIn, issuedAt }) => {
        this.#tokens.set(key, token, expiresIn, issuedAt);
        return token;
      });
      this.#pendingTokens.set(key, pending);
      void pending.finally(() => this.#pendingTokens.delete(key)).catch(() => undefined);
    }
    return { header: `Bearer ${await pending}`, fromCache: false };
  }

  /** fetch, with retries of 429 / 5xx / dropped connections; never follows redirects itself. */
  async #send(call: Call, authorization: string | undefined): Promise<Response> {
    const canRetry = call.retry !== false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...call.headers };
      if (authorization) headers.authorization = authorization;
      const body = call.body?.();
      const init: RequestInit & { duplex?: 'half' } = { method: call.method, headers, redirect: 'manual' };
      if (body !== undefined && body !== null) {
        init.body = body;
        init.duplex = 'half';
      }
      if (call.signal) init.signal = call.signal;
      let res: Response;
      try {
        res = await fetch(call.url, init);
      } catch (error) {
        const failure = classifyNetworkError(error);
        if (failure.kind === 'transient' && canRetry && attempt < this.#retry.retries) {
          await sleep(backoffDelay(attempt, this.#retry));
          continue;
        }
        if (failure.kind === 'other') throw error;
        throw this.#unreachable(call.url, failure.reason, call.what, error);
      }
      if (isRetryableStatus(res.status) && canRetry && attempt < this.#retry.retries) {
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        if (retryAfter === undefined || retryAfter <= this.#retry.maxRetryAfterMs) {
          await discard(res);
          await sleep(backoffDelay(attempt, this.#retry, retryAfter));
          continue;
        }
      }
      return res;
    }
  }

  #unreachable(url: URL, reason: string, what: string, cause: unknown): MayflyError {
    const who = url.origin === this.baseUrl.origin ? this.name : url.host;
    return new MayflyError('REGISTRY_UNREACHABLE', `${who} is unreachable (${reason}) while fetching ${what}`, {
      hint: `check the address (${url.origin}), a registry mirror, or the network`,
      cause,
      details: { registry: this.name, url: url.href, reason },
    });
  }

  /** The MayflyError for an unsuccessful answer, from its status and the registry's error body. */
  async #failure(res: Response, repo: string, what: string, notFound?: () => MayflyError): Promise<MayflyError> {
    const text = await res.text().catch(() => '');
    let errors: { code?: string; message?: string; detail?: unknown }[] = [];
    try {
      const parsed = JSON.parse(text) as { errors?: unknown };
      if (Array.isArray(parsed.errors)) errors = parsed.errors as typeof errors;
    } catch {
      // not the registry's JSON error format
    }
    const codes = errors.map((e) => e.code).filter((c): c is string => typeof c === 'string');
    const said = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ') || text.slice(0, 200).trim();
    const details = { registry: this.name, repository: repo, status: res.status, errors: codes };
    const notFoundCodes = ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UNKNOWN'];
    if (notFound && (res.status === 404 || codes.some((c) => notFoundCodes.includes(c)))) return notFound();
    if (codes.includes('DIGEST_INVALID') || codes.includes('SIZE_INVALID')) {
      return new MayflyError('DIGEST_MISMATCH', `${this.name} rejected the ${what}: the content does not match its digest (${said})`, { details });
    }
    if (res.status === 403 || codes.includes('DENIED')) {
      return new MayflyError('REGISTRY_AUTH', `${this.name} denied the ${what}${said ? ` (${said})` : ''}`, {
        hint: `check that your account on ${this.name} may access ${repo}`,
        details,
      });
    }
    if (res.status === 429 || codes.includes('TOOMANYREQUESTS')) {
      return new MayflyError('REGISTRY_ERROR', `${this.name} is rate-limiting requests (429) for the ${what}`, {
        hint: `wait, log in (\`mayfly login ${this.name}\`) for a higher limit, or use a mirror`,
        details,
      });
    }
    return new MayflyError('REGISTRY_ERROR', `${this.name} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''} for the ${what}${said ? `: ${said}` : ''}`, { details });
  }
}

/** DIGEST_MISMATCH for a blob: its bytes (`actual`, or a `detail` about their count) are not `expected`'s. */
function requireDigest(digest: string): void {
  if (!parseDigest(digest)) {
    throw new MayflyError('INVALID_OPTION', `"${digest}" is not a digest`, { hint: 'blobs are named by digest, e.g. sha256:<64 hex digits>' });
  }
}

function blobMismatch(registry: string, what: string, expected: string, actual: string | undefined, detail: string, expectedSize: number | undefined, received: number): MayflyError {
  return new MayflyError('DIGEST_MISMATCH', actual ? `${registry} sent ${what} with digest ${actual}, expected ${expected}${detail}` : `${registry} sent ${what} with ${detail}, expected ${expected}`, {
    hint: 'the registry or something between it and you altered the content; try again or use another mirror',
    details: { registry, expected, ...(actual ? { actual } : {}), ...(expectedSize !== undefined ? { expectedSize } : {}), received },
  });
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.append('digest', digest);
  return url;
}

/** Let go of a body we do not read, so the connection can be reused. */
async function discard(res: Response): Promise<void> {
  if (res.bodyUsed || !res.body) return;
  await res.body.cancel().catch(() => undefined);
}
