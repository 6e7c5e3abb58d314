// Pull of a ~55 MB (170 MB unpacked) Debian image from a local Docker Distribution, cold store each
// time: mayfly pull (download + verify + extract) beside skopeo copy (download + verify only) and
// podman pull (download + extract), measured in one run. Prints a markdown table, writes it to
// bench/results/.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import getPort from 'get-port';
import { RegistryClient } from '../dist/image/registry/index.js';
import { hostPlatform } from '../dist/image/registry/platform.js';
import { Runtime } from '../dist/engine/runtime.js';
import { podmanEnv, podmanUnavailable, PODMAN_CONFIG } from './peers/podman.mjs';
import { summary } from './stats.mjs';

const N = Number(process.env.N ?? 5);
const work = mkdtempSync(join(tmpdir(), 'mayfly-bench-pull-'));
const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// the image: the Debian minbase tar the tests build (mmdebstrap), as one gzip layer
const cache = process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache';
let baseTar = join(cache, 'debian-bookworm-minbase.tar');
if (!existsSync(baseTar)) {
  baseTar = join(work, 'debian.tar');
  execFileSync('mmdebstrap', ['--mode=unshare', '--variant=minbase', '--quiet', 'bookworm', baseTar], { stdio: 'inherit' });
}
const tar = readFileSync(baseTar);
const layer = gzipSync(tar, { level: 6 });

// a registry on loopback
const port = await getPort({ host: '127.0.0.1' });
mkdirSync(join(work, 'registry'));
writeFileSync(join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/registry\nhttp:\n  addr: 127.0.0.1:${port}\n`);
const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 200; i++) {
  if (await fetch(`${url}/v2/`).then((r) => r.ok, () => false)) break;
  await new Promise((r) => setTimeout(r, 25));
}
const client = new RegistryClient(url);
const { os, architecture } = hostPlatform();
const config = Buffer.from(JSON.stringify({ os, architecture, config: { Cmd: ['bash'] }, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }));
for (const blob of [config, layer]) {
  const f = join(work, sha(blob).slice(7));
  writeFileSync(f, blob);
  await client.uploadBlob('bench/debian', sha(blob), f);
}
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length }],
}));
await client.putManifest('bench/debian', '1', manifest, 'application/vnd.oci.image.manifest.v1+json');
const ref = `127.0.0.1:${port}/bench/debian:1`;

async function timed(fn) {
  const out = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

const rows = [];
const mayflyMs = await timed(async (i) => {
  const home = join(work, `home-${i}`);
  process.env.MAYFLY_HOME = home;
  const rt = await Runtime.start({ onWarning: () => {} });
  await rt.pull(ref);
  await rt.close();
});
// the sandbox's start-up is part of a first pull; it is shown separately as well
const bootMs = await timed(async () => (await Runtime.start({ onWarning: () => {} })).close());
rows.push({ label: 'mayfly pull (cold store: download, verify, extract)', ...summary(mayflyMs) });
rows.push({ label: '  of which: sandbox start + stop', ...summary(bootMs) });
const skopeoMs = await timed(async (i) => {
  const r = spawnSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${join(work, `skopeo-${i}`)}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
});
rows.push({ label: 'skopeo copy docker:// → dir: (download, verify; no extraction)', ...summary(skopeoMs), base: true });
const why = podmanUnavailable();
if (!why) {
  const env = podmanEnv();
  const podmanMs = await timed(async () => {
    spawnSync('podman', ['rmi', '-f', ref], { env });
    const r = spawnSync('podman', ['pull', '--tls-verify=false', '-q', ref], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  });
  rows.push({ label: 'podman pull (download, verify, extract)', ...summary(podmanMs) });
  spawnSync('podman', ['rmi', '-f', ref], { env });
}
registry.kill();

const base = rows.find((r) => r.base).median;
const lines = ['| case | median ms | p90 ms | n | vs skopeo |', '|---|---:|---:|---:|---:|'];
for (const r of rows) lines.push(`| ${r.label} | ${r.median.toFixed(0)} | ${r.p90.toFixed(0)} | ${r.n} | ${(r.median / base).toFixed(2)}× |`);
const out = `## Pull of a ${(layer.length / 1e6).toFixed(0)} MB image (${(tar.length / 1e6).toFixed(0)} MB unpacked) from a local registry — ${new Date().toISOString()}\n\n${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, as ${process.getuid() === 0 ? 'root' : `uid ${process.getuid()}`}.${why ? ` podman: ${why}.` : ` Peer: ${PODMAN_CONFIG}.`}\n\n${lines.join('\n')}\n`;
console.log(out);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', `pull-${process.getuid() === 0 ? 'root' : 'rootless'}.md`), out);
// the stores hold files of other uids when rootless: a sandbox removes them
process.env.MAYFLY_HOME = join(work, 'cleanup-home');
const rt = await Runtime.start({ onWarning: () => {} });
await rt.close();
spawnSync('rm', ['-rf', work]);
