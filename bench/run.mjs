// npm run bench: mayfly side by side with its peers in one run, on the same images from one local
// registry — podman (rootful, configured to run here: bench/peers/podman.mjs), Testcontainers for
// Node over podman's Docker-compatible API, the bare `unshare` floor, skopeo, direct loopback.
// Prints a markdown table per scenario and writes bench/results/peers-<who>.{md,svg,json}.
//
//   ITER=3 npm run bench          fewer iterations everywhere (while working on the bench)
//   ONLY=1,2 npm run bench        some scenarios only (5's kill test runs when 5 is listed)
//   BYTES=1e8 ROUNDS=500          smaller port measurements (scenario 7)
//   NAME=databases ONLY=11,12,13  results in bench/results/databases-<who>.* instead of peers-<who>.*
//                                 (a partial run leaves the full one as it is)
//   TRACE=1                       Testcontainers' requests relayed through a recorder (bench/peers/
//                                 api-trace.mjs): a table of what it asks each API per start, and how
//                                 long each answer takes (the relay's hop is in every timing)
//
// Needs: root (the podman peer is rootful), the peers installed (scripts/bench-peers-setup.sh, which
// `npm run bench` runs first), Debian's package archive on first use (the preset images are built
// once per machine and cached in /var/tmp/mayfly-test-cache). Leaves nothing behind: every
// container, the registry, podman's API service and podman's private store are removed at the end,
// and the run checks that they are.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

// The bench runs from a snapshot of the build (package.json, bin/, dist/, bench/; node_modules
// linked) in its scratch directory: the sandbox and shims it starts keep loading one consistent
// build even if dist/ is rebuilt in the checkout while it runs.
if (!process.env.MAYFLY_BENCH_PKG) {
  const checkout = join(import.meta.dirname, '..');
  mkdirSync('/var/tmp/mayfly-bench', { recursive: true });
  const pkg = mkdtempSync('/var/tmp/mayfly-bench/pkg-');
  chmodSync(pkg, 0o755);
  for (const f of ['package.json', 'bin', 'dist', 'bench']) cpSync(join(checkout, f), join(pkg, f), { recursive: true });
  symlinkSync(join(checkout, 'node_modules'), join(pkg, 'node_modules'));
  const child = spawn(process.execPath, [join(pkg, 'bench/run.mjs')], { stdio: 'inherit', env: { ...process.env, MAYFLY_BENCH_PKG: pkg, MAYFLY_BENCH_CHECKOUT: checkout } });
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(sig, () => child.kill(sig)); // the run cleans up, then this removes the snapshot
  const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? (s ? 128 : 1))));
  rmSync(pkg, { recursive: true, force: true });
  try {
    rmdirSync('/var/tmp/mayfly-bench'); // when no other run is using it
  } catch {
    // not empty
  }
  process.exit(code);
}
const { Runtime } = await import('../dist/engine/runtime.js');
import { renderChart } from './chart.mjs';
import { mayflyConfig, mayflyProcesses } from './peers/mayfly.mjs';
import { PODMAN_CONFIG, PODMAN_DIR, conmonPids, podman, podmanEnv, podmanUnavailable, resetPodman, startPodmanService } from './peers/podman.mjs';
import { revokeTun, rootlessConfig, rootlessLeftovers, rootlessPodman, rootlessUnavailable } from './peers/podman-rootless.mjs';
import { startRegistry } from './peers/registry.mjs';
import { renderMarkdown, summarize } from './report.mjs';
import { concurrent } from './scenarios/concurrent.mjs';
import { killedOwnerRows, leftoversNow } from './scenarios/leftovers.mjs';
import { memory } from './scenarios/memory.mjs';
import { mountsMentioning, processesMatching } from './scenarios/procfs.mjs';
import { ports } from './scenarios/ports.mjs';
import { pull } from './scenarios/pull.mjs';
import { rebuild } from './scenarios/rebuild.mjs';
import { postgres, redis, staticSite } from './scenarios/services.mjs';
import { isolation, mysqlPreset, postgresPreset } from './scenarios/databases.mjs';
import { startTrue } from './scenarios/start-true.mjs';
import { cliLatency } from './scenarios/cli.mjs';
import { migrate } from './scenarios/migrate.mjs';
import { prepareImages } from './peers/images.mjs';
import { startTcWorker } from './peers/tc-client.mjs';
import { traceRelay, traceSummary } from './peers/api-trace.mjs';
import { processTable } from './scenarios/procfs.mjs';

const repo = join(import.meta.dirname, '..'); // the snapshot
const checkout = process.env.MAYFLY_BENCH_CHECKOUT; // where results go and the images are built from
const ITER = process.env.ITER ? Number(process.env.ITER) : undefined;
const ONLY = process.env.ONLY ? new Set(process.env.ONLY.split(',').map(Number)) : undefined;
const wanted = (id) => !ONLY || ONLY.has(id);
const log = (line) => process.stderr.write(`[bench] ${line}\n`);
const who = process.getuid() === 0 ? 'root' : 'rootless';
const startedAt = Date.now();

mkdirSync('/var/tmp/mayfly-bench', { recursive: true });
// podman's private store and configuration (PODMAN_DIR) serve one run at a time: a second run
// waits here rather than resetting the store under the first one (held until this process exits)
{
  const { tryLock } = await import('../dist/sys/locks.js');
  const fd = openSync('/var/tmp/mayfly-bench/run.lock', 'a');
  for (let said = false; !tryLock(fd); said = true) {
    if (!said) log('another bench run holds /var/tmp/mayfly-bench/run.lock: waiting for it');
    await new Promise((r) => setTimeout(r, 1000));
  }
}
const work = mkdtempSync('/var/tmp/mayfly-bench/run-');
chmodSync(work, 0o755); // the unprivileged half of scenario 1 keeps its home here
const mayflyHome = join(work, 'home');
process.env.MAYFLY_HOME = mayflyHome;

const ctx = { repo, checkout, work, mayflyHome, iterations: (n) => ITER ?? n, images: {}, log };
const cleanups = [];
const notes = [];
let failed = false;

async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (e) {
      log(`cleanup: ${e.message}`);
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}

function machine() {
  const os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${os}, Linux ${release()}, Node ${process.version}; bench run as ${who}`;
}

const sections = [];
const teardownRows = [];
let killed = [];
const normal = {};

try {
  // 1. the registry and the images every system pulls
  const registry = await startRegistry(join(work, 'registry'));
  cleanups.push(() => registry.stop());
  log(`registry on ${registry.host}; preparing images (the first run on a machine builds them: minutes)`);
  const prepared = prepareImages(checkout, registry.host, join(work, 'images'));
  ctx.registry = registry.host;
  ctx.images = {
    busybox: prepared.busybox,
    nginx: `${registry.host}/library/nginx:latest`,
    postgres: `${registry.host}/library/postgres:latest`,
    redis: `${registry.host}/library/redis:latest`,
    mysql: `${registry.host}/library/mysql:8.4`,
  };
  ctx.imageSizes = {};
  for (const [k, ref] of Object.entries(ctx.images)) {
    const [, repoPath, tag] = /^[^/]+\/(.+):([^:]+)$/.exec(ref);
    const m = /** @type {{ layers: { size: number }[] }} */ (await (await fetch(`http://${registry.host}/v2/${repoPath}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).json());
    ctx.imageSizes[k] = m.layers.reduce((a, l) => a + l.size, 0);
  }

  // 2. mayfly: one runtime for the scenarios, images pulled before any clock runs
  const rt = await Runtime.start({ onWarning: (m) => notes.push(`mayfly warned: ${m}`) });
  let rtOpen = true;
  const closeRuntime = async () => {
    if (rtOpen) await rt.close();
    rtOpen = false;
  };
  cleanups.push(closeRuntime);
  ctx.rt = rt;
  for (const ref of Object.values(ctx.images)) await rt.pull(ref);

  // 3. podman and Testcontainers
  const systems = { mayfly: mayflyConfig(rt) };
  const why = podmanUnavailable();
  if (why) {
    notes.push(`podman and Testcontainers not measured: ${why}`);
  } else {
    const env = podmanEnv([registry.host]);
    await resetPodman(env);
    cleanups.push(() => resetPodman(env));
    for (const ref of Object.values(ctx.images)) await podman(['pull', '--quiet', ref], env);
    ctx.podman = { env };
    systems.podman = PODMAN_CONFIG;
    const service = await startPodmanService(env);
    cleanups.push(() => service.stop());
    const tcEnv = { DOCKER_HOST: `unix://${service.socket}`, TESTCONTAINERS_RYUK_DISABLED: 'true', TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1' };
    Object.assign(process.env, tcEnv);
    const tcVersion = JSON.parse(readFileSync(join(repo, 'node_modules/testcontainers/package.json'), 'utf8')).version;
    ctx.tc = { env: tcEnv, module: await import('testcontainers'), servicePid: service.pid, ryuk: 'disabled' };
    systems.Testcontainers =
      `testcontainers ${tcVersion} (npm) in the bench's Node process, DOCKER_HOST=unix://${service.socket} (\`podman system service --time=0\` of the podman above); ` +
      'TESTCONTAINERS_RYUK_DISABLED=true (Ryuk, its reaper, is an image on Docker Hub, which this machine cannot reach); ' +
      'TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 (this machine has a /.dockerenv file, which makes Testcontainers look for the host elsewhere); in scenarios 2, 3, 9 and 4 the same code runs in a Node process of its own (bench/peers/tc-worker.mjs), as over mayfly';
  }
  // Testcontainers over each Docker endpoint, the same code (bench/peers/tc-worker.mjs) in a client
  // process per endpoint, for scenarios 2, 3, 9 and 4: podman's API service, and mayfly's API socket
  // (served by the keeper of the bench's MAYFLY_HOME, whose store already holds the images)
  ctx.tcClients = [];
  const traced = async (name, env) => {
    if (!process.env.TRACE) return env;
    const relay = await traceRelay(env.DOCKER_HOST.replace(/^unix:\/\//, ''), join(work, `trace-${name}.sock`));
    cleanups.push(() => relay.close());
    (ctx.traces ??= []).push({ name, relay });
    return { ...env, DOCKER_HOST: `unix://${relay.path}` };
  };
  if (ctx.tc) {
    const worker = await startTcWorker(await traced('podman', ctx.tc.env));
    cleanups.push(() => worker.stop());
    ctx.tcClients.push({ system: 'testcontainers', label: 'Testcontainers over podman', short: 'Testcontainers', worker, servicePids: () => [ctx.tc.servicePid], cleanup: () => podman(['rm', '--all', '--force', '--time', '0'], ctx.podman.env) });
  }
  if ([2, 3, 9, 4].some(wanted)) {
    const { keeper, stopKeeper } = await import('../dist/keeper/client.js');
    cleanups.push(() => stopKeeper());
    const socket = (await (await keeper()).request({ op: 'api' })).socketPath;
    const keeperPids = () => [...processTable()].filter(([, p]) => p.cmdline.includes(join(repo, 'dist/keeper/main.js'))).map(([pid]) => pid);
    // Ryuk as the API answers it: enabled, the keeper stands in for it (no image pulled)
    const env = { DOCKER_HOST: `unix://${socket}`, TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1' };
    const worker = await startTcWorker(await traced('mayfly', env));
    cleanups.push(() => worker.stop());
    ctx.tcClients.push({ system: 'tc-mayfly', label: 'Testcontainers over mayfly’s API socket', short: 'TC over mayfly', worker, servicePids: keeperPids });
    // scenario 5 checks what mayfly leaves once closed: the keeper goes first
    ctx.stopApi = async () => {
      await worker.stop();
      await stopKeeper();
    };
    const tcVersion = JSON.parse(readFileSync(join(repo, 'node_modules/testcontainers/package.json'), 'utf8')).version;
    systems['Testcontainers over mayfly'] =
      `testcontainers ${tcVersion} (npm), the same code as over podman, in a Node process of its own per endpoint (bench/peers/tc-worker.mjs); DOCKER_HOST=unix://${socket} (mayfly's Docker Engine API, served by the keeper of the bench's MAYFLY_HOME, whose store already holds the images); ` +
      'Ryuk enabled: mayfly answers for it itself (no image pulled); TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 as over podman';
  }
  const whyRootless = why ?? rootlessUnavailable();
  if (whyRootless) notes.push(`rootless podman not measured: ${whyRootless}`);
  else {
    cleanups.push(revokeTun);
    await rootlessPodman([registry.host]).reset(); // what an interrupted run left
    const rootless = rootlessPodman([registry.host]);
    cleanups.push(() => rootless.reset());
    await rootless.run(['pull', '--quiet', ctx.images.nginx]);
    ctx.podmanRootless = rootless;
    systems['podman rootless'] = `${rootlessConfig()}; measured in scenarios 2 and 8 only (detached runs: an attached \`podman run\` here waits 20 s after its container exits, on podman's conmon timer)`;
  }
  const uid = spawnSync('id', ['-u', 'mfuser'], { encoding: 'utf8' });
  if (process.getuid() === 0 && uid.status === 0) {
    const home = join(work, 'mfuser');
    mkdirSync(home);
    const gid = Number(spawnSync('id', ['-g', 'mfuser'], { encoding: 'utf8' }).stdout.trim());
    chownSync(home, Number(uid.stdout.trim()), gid);
    ctx.unprivileged = { name: 'mfuser', uid: Number(uid.stdout.trim()), gid, home };
  }
  systems.floor = 'util-linux `unshare` (Debian 12) spawned from Node: namespaces only, no root filesystem';
  systems.skopeo = `skopeo ${spawnSync('skopeo', ['--version'], { encoding: 'utf8' }).stdout?.trim().split(' ').pop() ?? '?'} (Debian), copying to a directory: download and digest check only`;
  ctx.systems = systems;

  // 4. the scenarios
  const run = async (id, fn) => {
    if (!wanted(id)) return;
    const t0 = Date.now();
    log(`scenario ${id}…`);
    try {
      sections.push(await fn());
    } catch (e) {
      failed = true;
      log(`scenario ${id} failed: ${e.stack}`);
      sections.push({ id, title: `scenario ${id}`, unit: 'ms', rows: [{ label: 'scenario', failed: e.message.split('\n')[0] }] });
      if (ctx.podman) await podman(['rm', '--all', '--force', '--time', '0'], ctx.podman.env, { allowFailure: true });
    }
    log(`scenario ${id} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  };
  await run(1, () => startTrue(ctx));
  await run(2, () => staticSite(ctx, teardownRows));
  await run(3, () => postgres(ctx, teardownRows));
  await run(9, () => redis(ctx, teardownRows));
  await run(11, () => postgresPreset(ctx));
  await run(12, () => mysqlPreset(ctx));
  await run(13, () => isolation(ctx));
  await run(15, () => migrate(ctx));
  await run(4, () => concurrent(ctx, teardownRows));
  await run(8, () => memory(ctx));
  if (wanted(5)) killed = await killedOwnerRows(ctx);
  await run(6, () => pull(ctx));
  await run(7, () => ports(ctx));
  await run(10, () => rebuild(ctx));
  await run(14, () => cliLatency(ctx));

  for (const { name, relay } of ctx.traces ?? []) {
    const starts = relay.entries.filter((e) => e.endpoint.startsWith('POST /containers/create')).length;
    const rows = traceSummary(relay.entries, starts || 1);
    const fmtMs = (v) => (Number.isNaN(v) ? '–' : v.toFixed(1));
    sections.push({
      id: 99,
      title: `Testcontainers' requests to ${name === 'mayfly' ? 'mayfly’s API socket' : 'podman’s API service'} (TRACE=1: ${starts} container starts, through a recording relay)`,
      custom: 'text',
      rows: [],
      text: ['| request → status | per start | median ms to head | median ms to end | n |', '|---|---:|---:|---:|---:|', ...rows.map((r) => `| \`${r.endpoint}\` | ${r.perStart.toFixed(2)} | ${fmtMs(r.headMs)} | ${fmtMs(r.endMs)} | ${r.count} |`)].join('\n'),
    });
  }

  // 5. what a normal teardown left: mayfly's runtime must end with no trace once closed
  if (wanted(5)) {
    await ctx.stopApi?.();
    const pids = mayflyProcesses().runtime;
    const containersLeft = mayflyProcesses().containers.length;
    await closeRuntime();
    for (let i = 0; i < 100 && pids.some((p) => existsSync(`/proc/${p}`)); i++) await new Promise((r) => setTimeout(r, 20));
    const m = await leftoversNow('mayfly', ctx, { home: mayflyHome, pids });
    normal.mayfly = { ...m, processes: m.processes + containersLeft };
    if (ctx.podman) {
      const tcIds = (await podman(['ps', '-aq', '--filter', 'label=org.testcontainers=true'], ctx.podman.env)).split('\n').filter(Boolean);
      const all = await leftoversNow('podman', ctx);
      normal.podman = { ...all, state: all.state - tcIds.length };
      normal.testcontainers = { processes: 0, state: tcIds.length, mounts: 0 };
    }
    sections.push({
      id: 5,
      title: 'Teardown: time, and what is left behind',
      shortTitle: 'teardown of a running static site',
      custom: 'teardown',
      unit: 'ms',
      rows: teardownRows,
      killed,
      normal,
      targets: () => {
        const bad = Object.entries(normal).filter(([s, l]) => s === 'mayfly' && l.processes + l.state + l.mounts > 0);
        const k = killed.find((r) => r.system === 'mayfly');
        const met = !bad.length && k && !k.failed && k.cleanMs !== undefined;
        return [{ goal: 'nothing left, ever (normal teardown, and owner killed with SIGKILL)', text: met ? `nothing left; after SIGKILL all gone in ${k.cleanMs.toFixed(0)} ms` : 'something was left: see scenario 5', met }];
      },
    });
  }
} catch (e) {
  failed = true;
  log(`bench failed: ${e.stack}`);
  notes.push(`the run failed: ${e.message}`);
} finally {
  await cleanup();
}

// 6. the bench's own trace: nothing of the run may remain
const leftByBench = [
  ...[...processesMatching(work), ...processesMatching(repo), ...processesMatching(PODMAN_DIR)].map((p) => `process ${p.pid}: ${p.cmdline}`),
  ...conmonPids().map((p) => `conmon ${p}`),
  ...mountsMentioning(work),
  ...mountsMentioning(PODMAN_DIR),
  ...rootlessLeftovers(),
];
rmSync(work, { recursive: true, force: true });
if (existsSync(work)) leftByBench.push(`${work} could not be removed`);
const podmanDirLeft = existsSync(PODMAN_DIR) ? readdirSync(PODMAN_DIR).filter((f) => !f.endsWith('.conf')) : [];
if (podmanDirLeft.length) leftByBench.push(`${PODMAN_DIR}: ${podmanDirLeft.join(', ')}`);
else rmSync(PODMAN_DIR, { recursive: true, force: true }); // its configuration files, written anew by each run
if (leftByBench.length) {
  failed = true;
  notes.push(`the bench left behind: ${leftByBench.join('; ')}`);
} else notes.push('After the run: no process, mount, container or directory of the run is left (checked by the bench).');

const load = loadavg();
const report = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  machine: machine(),
  machineShort: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, as ${who}; run took ${((Date.now() - startedAt) / 60000).toFixed(1)} min`,
  busy: load[0] > cpus().length / 2 ? `load average ${load.map((l) => l.toFixed(2)).join(' ')} at the end on ${cpus().length} cores: other work was running, timings are noisy.` : undefined,
  systems: ctx.systems ?? {},
  imagesText: Object.entries(ctx.images)
    .map(([k, ref]) => `${k} \`${ref.replace(ctx.registry, 'REGISTRY')}\`${ctx.imageSizes?.[k] ? ` (${(ctx.imageSizes[k] / 1e6).toFixed(1)} MB of gzip layers)` : ''}`)
    .join(', ') + ', from Docker Distribution (Debian `docker-registry`) on loopback; nginx, postgres, redis and mysql (MariaDB 10.11 keeping the official images’ contract) are the presets’ look-alike images built by mayfly from presets/images on Debian 12.',
  sections: sections.sort((a, b) => a.id - b.id).map(summarize),
  notes: [...notes, ...(ITER ? [`ITER=${ITER}: fewer iterations than a full run.`] : [])],
};
const md = renderMarkdown(report);
console.log(md);
const dir = join(checkout, 'bench/results');
mkdirSync(dir, { recursive: true });
const name = `${process.env.NAME ?? 'peers'}-${who}`;
writeFileSync(join(dir, `${name}.md`), md);
writeFileSync(join(dir, `${name}.svg`), renderChart(report));
writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(report, (k, v) => (k === 'values' || k === 'fixed' || k === 'container' ? v?.map((x) => Math.round(x * 100) / 100) : v), 1)}\n`);
log(`wrote bench/results/${name}.md, .svg and .json in ${((Date.now() - startedAt) / 60000).toFixed(1)} min`);
process.exit(failed ? 1 : 0);
