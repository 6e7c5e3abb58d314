// Presets bench: start-to-ready of each preset from a warm cache (image in the store), and what
// presets.staticSite() costs for an unchanged folder (no build: a walk of the folder and a store
// lookup) and for a folder with one changed file (one layer rebuilt).
//   npm run build && node bench/presets.mjs [--runs N]
// The images are the presets' look-alikes (src/presets/lookalike/) in a local registry that
// docker.io is mirrored to, as in the tests; everything runs in a private MAYFLY_HOME, removed after.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startRegistry } from './peers/registry.mjs';
import { summary, timeRuns } from './stats.mjs';
import { prepareImages } from './peers/images.mjs';

const checkout = resolve(import.meta.dirname, '..');
const runsAt = process.argv.indexOf('--runs');
const RUNS = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 7;
const work = mkdtempSync(join(process.env.MAYFLY_BENCH_TMP ?? tmpdir(), 'mayfly-bench-presets-'));
const log = (line) => process.stderr.write(`[bench presets] ${line}\n`);
const registry = await startRegistry(join(work, 'registry'));
let rt;
try {
  log(`registry on ${registry.host}; preparing images (the first run on a machine builds them: minutes)`);
  prepareImages(checkout, registry.host, join(work, 'images'));

  process.env.MAYFLY_HOME = join(work, 'home');
  process.env.MAYFLY_REGISTRY_MIRRORS = `docker.io=${registry.host}`;
  const { presets, sharedRuntime, closeSharedRuntime } = await import('../dist/index.js');
  const { siteImage } = await import('../dist/presets/static-site-image.js');
  const { nginxConf } = await import('../dist/presets/static-site-conf.js');
  rt = closeSharedRuntime;
  const runtime = await sharedRuntime();

  const rows = [];
  const row = (label, ms, note = '') => {
    const s = summary(ms);
    rows.push(`| ${label} | ${s.median.toFixed(1)} | ${s.p90.toFixed(1)} | ${s.n} | ${note} |`);
    log(`${label}: median ${s.median.toFixed(1)} ms`);
  };
  const startStop = (start) => async () => {
    const c = await start();
    await c.remove();
  };

  // warm: the first start pulls the image; the clock runs for the starts after it
  row('presets.postgres({ tag: "15" })', await timeRuns(RUNS, 1, startStop(() => presets.postgres({ tag: '15' }))), 'start → a TCP query with the password answers');
  row('presets.redis()', await timeRuns(RUNS, 1, startStop(() => presets.redis())), 'start → `redis-cli ping` says PONG');

  const site = join(work, 'site');
  mkdirSync(join(site, 'assets'), { recursive: true });
  writeFileSync(join(site, 'index.html'), '<!doctype html><main id="app"></main><script src="/assets/app.js"></script>');
  for (let i = 0; i < 200; i++) writeFileSync(join(site, 'assets', `chunk-${i}.js`), `export const n${i} = ${'1'.repeat(2000)};\n`);
  writeFileSync(join(site, 'assets', 'app.js'), 'document.getElementById("app").textContent = "hi";\n');
  const siteNote = '201 files, 400 KB';
  // cold build of the site image (the base pulled before the clock)
  await runtime.pull('nginx:1');
  const builds = [];
  for (let i = 0; i < RUNS; i++) {
    writeFileSync(join(site, 'assets', 'app.js'), `document.getElementById("app").textContent = "build ${i} ${Date.now()}";\n`);
    const t0 = performance.now();
    const s = await presets.staticSite(site);
    builds.push(performance.now() - t0);
    if (!s.built) throw new Error('a changed folder was not rebuilt');
    await s.remove();
  }
  row('presets.staticSite(dir), one file changed', builds, `${siteNote}; rebuilds the site layer only, then start → HTTP answers`);
  row('presets.staticSite(dir), unchanged', await timeRuns(RUNS, 1, startStop(() => presets.staticSite(site))), `${siteNote}; no build, start → HTTP answers`);
  const conf = nginxConf({ spa: false, directoryListing: false, headers: {} });
  const workDir = join(runtime.info.runDir, 'staging');
  row('  of which: finding the unchanged image', await timeRuns(RUNS, 1, () => siteImage(runtime, { base: 'nginx:1', conf, folder: site, workDir })), 'hash of the folder + store lookup');

  console.log(['| case | median ms | p90 ms | n | what |', '|---|---:|---:|---:|---|', ...rows].join('\n'));
} finally {
  await rt?.();
  await registry.stop();
  const cleanup = spawnSync(process.execPath, ['-e', `import('${join(checkout, 'dist/engine/runtime.js')}').then(async ({ Runtime }) => { const rt = await Runtime.start({ home: ${JSON.stringify(join(work, 'home'))}, onWarning: () => {} }); for (const i of rt.images()) await rt.rmi(i.id, { force: true }); await rt.prune(); await rt.close(); })`], { stdio: 'inherit' });
  if (cleanup.status !== 0) log('could not empty the bench store');
  rmSync(work, { recursive: true, force: true });
}
