/**
 * Test images made from directories and pushed to a test registry with mayfly's own client: a
 * gzip layer per directory (or raw tar buffer), a config, an OCI manifest.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { c as tarCreate } from 'tar';
import { RegistryClient } from '../../src/image/registry/index.js';
import { hostPlatform } from '../../src/image/registry/platform.js';
import type { ImageConfigFile } from '../../src/image/store/image-config.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A directory as an uncompressed tar with root-owned entries (what an image build would produce). */
export async function tarOfDir(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tarCreate({ cwd: dir, portable: true, noMtime: true }, ['.']);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export async function pushImage(registryUrl: string, repo: string, tag: string, layers: Buffer[], config: ImageConfigFile['config'] = {}): Promise<string> {
  const client = new RegistryClient(registryUrl);
  const gz = layers.map((l) => gzipSync(l));
  const { os, architecture } = hostPlatform();
  const configBlob = Buffer.from(JSON.stringify({ os, architecture, config, rootfs: { type: 'layers', diff_ids: gz.map((g) => sha(gunzipSync(g))) } }));
  const dir = mkdtempSync(join(tmpdir(), 'mayfly-push-'));
  try {
    for (const blob of [configBlob, ...gz]) {
      const file = join(dir, createHash('sha256').update(blob).digest('hex'));
      writeFileSync(file, blob);
      await client.uploadBlob(repo, sha(blob), file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(configBlob), size: configBlob.length },
      layers: gz.map((g) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(g), size: g.length })),
    }),
  );
  return client.putManifest(repo, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
}
