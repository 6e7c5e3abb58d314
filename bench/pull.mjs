// Cold pull of the look-alike nginx image (~70 MB, 8 layers; the test cache's `mayfly save` archive)
// from a local Docker Distribution, measured in one run beside its anchor: skopeo copy docker:// →
// dir: (download + verify) plus GNU `tar -xzf` of each layer into a directory of its own, the work a
// pull must do. Also skopeo alone, podman pull, and the extractor's cost per entry against GNU tar on
// the same uncompressed layers (nginx's base, and the node look-alike's many small files).
// Prints a markdown table and writes bench/results/pull-{root,rootless}.md.
// MAYFLY_BENCH_BASE=<another built checkout> adds its pull (and its extractor) to the same rounds:
// before and after a change, measured side by side under the same load (MAYFLY_BENCH_BASE_LABEL names it).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import getPort from 'get-port';
import { RegistryClient } from '../dist/image/registry/index.js';
import { extractLayer } from '../dist/image/layer/extract-layer.js';
import { Runtime } from '../dist/engine/runtime.js';
import { podmanEnv, podmanUnavailable, PODMAN_CONFIG } from './peers/podman.mjs';
import { summary } from './stats.mjs';

const N = Number(process.env.N ?? 5);
const baseDir = process.env.MAYFLY_BENCH_BASE;
const base = baseDir
  ? {
      Runtime: (await import(join(baseDir, 'dist/engine/runtime.js'))).Runtime,
      extractLayer: (await import(join(baseDir, 'dist/image/layer/extract-layer.js'))).extractLayer,
      label: process.env.MAYFLY_BENCH_BASE_LABEL ?? baseDir,
    }
  : undefined;
const rootless = process.getuid() !== 0;
const work = mkdtempSync(join(process.env.MAYFLY_BENCH_TMP ?? tmpdir(), 'mayfly-bench-pull-'));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadBefore = load();

// the images: the newest look-alike archives the tests built (test/support/preset-images.ts)
const archives = join(process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache', 'preset-images');
const newest = (name) => {
  const found = existsSync(archives) ? readdirSync(archives).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.tar')).sort((a, b) => statSync(join(archives, b)).mtimeMs - statSync(join(archives, a)).mtimeMs) : [];
  if (!found.length) throw new Error(`no ${name} look-alike archive in ${archives}: run the image tests once (they build it)`);
  return join(archives, found[0]);
};

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

/** Unpacks an OCI layout archive, pushes its first image as bench/NAME:1; its manifest and blob paths. */
async function publish(name) {
  const dir = join(work, `layout-${name}`);
  mkdirSync(dir);
  execFileSync('tar', ['-xf', newest(name), '-C', dir]);
  const blob = (digest) => join(dir, 'blobs', 'sha256', digest.slice(7));
  const entry = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests[0];
  const raw = readFileSync(blob(entry.digest));
  const manifest = JSON.parse(raw.toString());
  for (const { digest } of [manifest.config, ...manifest.layers]) await client.uploadBlob(`bench/${name}`, digest, blob(digest));
  await client.putManifest(`bench/${name}`, '1', raw, entry.mediaType);
  return { ref: `127.0.0.1:${port}/bench/${name}:1`, manifest, blob };
}
const nginx = await publish('nginx');
const compressed = nginx.manifest.layers.reduce((n, l) => n + l.size, 0);

const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
};

// the cases take turns, one round after another: load from other work on the machine falls on all alike
const cases = {
  mayfly: async (i) => {
    process.env.MAYFLY_HOME = join(work, `home-${i}`);
    const rt = await Runtime.start({ onWarning: () => {} });
    await rt.pull(nginx.ref);
    await rt.close();
  },
  // the sandbox's start-up is part of a cold pull; shown separately as well
  boot: async (i) => {
    process.env.MAYFLY_HOME = join(work, `boot-${i}`);
    await (await Runtime.start({ onWarning: () => {} })).close();
  },
  skopeo: (i) => skopeo(join(work, `skopeo-${i}`)),
  anchor: (i) => {
    const dest = join(work, `anchor-${i}`);
    skopeo(dest);
    // the blobs skopeo wrote, each layer into a directory of its own (a store's layout), one after the other
    for (const [j, l] of nginx.manifest.layers.entries()) {
      const out = join(dest, `layer-${j}`);
      mkdirSync(out);
      run('tar', ['-xzf', join(dest, l.digest.slice(7)), '-C', out]);
    }
  },
};
// the other build's pull, when one is given
if (base) {
  cases.base = async (i) => {
    process.env.MAYFLY_HOME = join(work, `base-home-${i}`);
    const rt = await base.Runtime.start({ onWarning: () => {} });
    await rt.pull(nginx.ref);
    await rt.close();
  };
}
const skopeo = (dest) => run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${nginx.ref}`, `dir:${dest}`]);
const why = podmanUnavailable();
// a store of its own each time: a cold pull, as mayfly's (the shared peer store may hold the layers)
if (!why) cases.podman = (i) => run('podman', ['pull', '--tls-verify=false', '-q', nginx.ref], { env: podmanEnv([], join(work, `podman-${i}`)) });
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
// and each round starts one case further on: what runs right after another case's writes (the disk
// still busy with them) took 5–20 % longer, whichever it was
const rotated = (entries, i) => entries.map((_, j) => entries[(i + j) % entries.length]);
for (let i = 0; i < N; i++) {
  for (const [k, fn] of rotated(Object.entries(cases), i)) {
    const t0 = performance.now();
    await fn(i);
    times[k].push(performance.now() - t0);
  }
}
const rows = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summary(v)]));
if (!why) for (let i = 0; i < N; i++) spawnSync('podman', ['system', 'reset', '-f'], { env: podmanEnv([], join(work, `podman-${i}`)) });

// the extractor per entry, against GNU tar, on the same uncompressed layer (no gunzip on either side)
const node = await publish('node');
const perEntry = [];
for (const [label, blobFile] of [['nginx base layer', nginx.blob(nginx.manifest.layers[0].digest)], ['node layer (many small files)', node.blob(node.manifest.layers.at(-1).digest)]]) {
  const plain = join(work, 'plain.tar');
  execFileSync('sh', ['-c', `gzip -dc '${blobFile}' > '${plain}'`]);
  const entries = Number(execFileSync('sh', ['-c', `tar -tf '${plain}' | wc -l`]).toString().trim());
  // the extractors and GNU tar take turns too
  const ways = {
    ours: (out) => extractLayer(createReadStream(plain, { highWaterMark: 1 << 20 }), out, { chown: rootless ? 'tolerate' : 'keep' }),
    ...(base ? { baseOurs: (out) => base.extractLayer(createReadStream(plain, { highWaterMark: 1 << 20 }), out, { chown: rootless ? 'tolerate' : 'keep' }) } : {}),
    gnu: (out) => {
      mkdirSync(out);
      run('tar', ['-xf', plain, '-C', out]);
    },
  };
  const took = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
  for (let i = 0; i < N; i++) {
    for (const [k, fn] of rotated(Object.entries(ways), i)) {
      const t0 = performance.now();
      await fn(join(work, `${k}-${label.length}-${i}`));
      took[k].push(performance.now() - t0);
    }
  }
  const ours = summary(took.ours);
  const baseOurs = base ? summary(took.baseOurs) : undefined;
  const gnu = summary(took.gnu);
  perEntry.push({ label, entries, bytes: statSync(plain).size, ours, baseOurs, gnu });
}
registry.kill();

const ms = (s) => `${s.median.toFixed(0)} | ${s.p90.toFixed(0)} | ${s.n}`;
const lines = ['| case | median ms | p90 ms | n |', '|---|---:|---:|---:|'];
lines.push(`| mayfly cold pull (sandbox start, download, verify, extract, stop) | ${ms(rows.mayfly)} |`);
if (rows.base) lines.push(`| mayfly cold pull, base build ${base.label} | ${ms(rows.base)} |`);
lines.push(`|   of which: sandbox start + stop | ${ms(rows.boot)} |`);
lines.push(`| skopeo copy docker:// → dir: alone (download, verify) | ${ms(rows.skopeo)} |`);
lines.push(`| **anchor**: skopeo copy + GNU tar -xzf of each layer | ${ms(rows.anchor)} |`);
if (rows.podman) lines.push(`| podman pull into an empty store (download, verify, extract) | ${ms(rows.podman)} |`);
const ratios = [
  `- mayfly / anchor: **${(rows.mayfly.median / rows.anchor.median).toFixed(2)}×** (target ≤ 1.3×); without the sandbox start: ${((rows.mayfly.median - rows.boot.median) / rows.anchor.median).toFixed(2)}×`,
  ...(rows.base ? [`- base build ${base.label} / anchor: ${(rows.base.median / rows.anchor.median).toFixed(2)}×`] : []),
  `- mayfly / skopeo alone: ${(rows.mayfly.median / rows.skopeo.median).toFixed(2)}×`,
  rows.podman ? `- podman / mayfly: **${(rows.podman.median / rows.mayfly.median).toFixed(2)}×** (target ≥ 3×)` : `- podman: ${why}`,
];
const entryLines = ['| layer (uncompressed) | entries | MB | mayfly extractor ms | GNU tar -xf ms | mayfly µs/entry | GNU µs/entry | ratio |', '|---|---:|---:|---:|---:|---:|---:|---:|'];
for (const e of perEntry) {
  entryLines.push(`| ${e.label} | ${e.entries} | ${(e.bytes / 1e6).toFixed(0)} | ${e.ours.median.toFixed(0)} | ${e.gnu.median.toFixed(0)} | ${((e.ours.median * 1000) / e.entries).toFixed(0)} | ${((e.gnu.median * 1000) / e.entries).toFixed(0)} | ${(e.ours.median / e.gnu.median).toFixed(2)}× |`);
  if (e.baseOurs) entryLines.push(`| ${e.label}, base build ${base.label} | ${e.entries} | ${(e.bytes / 1e6).toFixed(0)} | ${e.baseOurs.median.toFixed(0)} | ${e.gnu.median.toFixed(0)} | ${((e.baseOurs.median * 1000) / e.entries).toFixed(0)} | ${((e.gnu.median * 1000) / e.entries).toFixed(0)} | ${(e.baseOurs.median / e.gnu.median).toFixed(2)}× |`);
}
const out = `## Cold pull of the look-alike nginx image (${(compressed / 1e6).toFixed(0)} MB in ${nginx.manifest.layers.length} layers) from a local registry — ${new Date().toISOString()}

${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, as ${rootless ? `uid ${process.getuid()} (rootless)` : 'root'}. Load average (1, 5, 15 min) before: ${loadBefore}; after: ${load()}.${why ? ` podman: ${why}.` : ` Peer: ${PODMAN_CONFIG}.`}

${lines.join('\n')}

${ratios.join('\n')}

The extractor per entry (in-process, ${rootless ? "chown 'tolerate'" : "chown 'keep'"}) against GNU tar -xf, the same uncompressed tar, each into a fresh directory:

${entryLines.join('\n')}
`;
console.log(out);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', `pull-${rootless ? 'rootless' : 'root'}.md`), out);
// the stores hold files of other uids when rootless: a sandbox removes them
process.env.MAYFLY_HOME = join(work, 'cleanup-home');
const rt = await Runtime.start({ onWarning: () => {} });
await rt.close();
spawnSync('rm', ['-rf', work]);
