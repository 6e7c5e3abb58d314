#!/usr/bin/env node
// Footprint of a test run (issue 18): N worker processes, each holding one running busybox `sleep`
// container; the peak summed PSS of the runtime's own processes — not the workers themselves, not
// the containers' `sleep`. Sampled every 100 ms for 3 s once every worker's container runs.
//   node bench/footprint.mjs [mayfly|podman|testcontainers ...] (default: all that run here)
// mayfly: every process below the workers (sandbox, `unshare` wrappers, shims, init) plus a shared
// sandbox wherever it hangs; podman (rootful): its conmons; Testcontainers over podman: the conmons
// plus `podman system service`. Run under `flock /work/team/heavy.lock`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendants, processTable, pss, sum } from './scenarios/procfs.mjs';
import { conmonPids, importRootfs, podman, podmanEnv, podmanUnavailable, resetPodman, startPodmanService } from './peers/podman.mjs';
import { busyboxRootfs } from '../dist/runtime/busybox-rootfs.js';

const COUNTS = [1, 4, 8];
const MiB = 2 ** 20;
const SANDBOX = 'dist/runtime/sandbox/main.js';
const wanted = process.argv.slice(2);
const systems = wanted.length ? wanted : ['mayfly', 'podman', 'testcontainers'];
const work = mkdtempSync(join(tmpdir(), 'mayfly-footprint-'));
const rootfs = join(work, 'rootfs');
busyboxRootfs(rootfs);

function startWorker(kind, arg, env) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'footprint/worker.mjs'), kind, arg], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve(undefined);
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
  ready.catch(() => {});
  return { child, ready, async stop() {
    const gone = new Promise((r) => child.once('exit', r));
    child.stdin.write('go\n');
    await gone;
  } };
}

async function peak(pidsFn, ms = 3000) {
  let best = 0;
  let at = [];
  for (let t = 0; t < ms; t += 100) {
    const pids = pidsFn();
    const v = sum(pids, pss);
    if (v > best) [best, at] = [v, pids];
    await new Promise((r) => setTimeout(r, 100));
  }
  return { bytes: best, processes: at.length };
}

/** mayfly's own processes: below the workers (and any shared sandbox), without the workers and the containers' sleep. */
function mayflyPids(workers, home) {
  const table = processTable();
  const ours = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`MAYFLY_HOME=${home}`);
    } catch {
      return false;
    }
  };
  const roots = [...workers, ...[...table].filter(([pid, p]) => p.cmdline.includes(SANDBOX) && p.comm === 'unshare' && ours(pid)).map(([pid]) => pid)];
  return descendants(roots, table).filter((pid) => !workers.includes(pid) && table.get(pid).comm !== 'sleep');
}

const rows = [];
for (const system of systems) {
  let env = {};
  let service;
  if (system !== 'mayfly') {
    const why = podmanUnavailable();
    if (why) {
      rows.push({ system, skipped: why });
      continue;
    }
    env = podmanEnv();
    importRootfs(rootfs, 'localhost/footprint-busybox:1');
  }
  if (system === 'testcontainers') {
    service = await startPodmanService(env);
    env = { ...env, DOCKER_HOST: `unix://${service.socket}`, TESTCONTAINERS_RYUK_DISABLED: 'true', TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1' };
  }
  for (const n of COUNTS) {
    const home = mkdtempSync(join(work, 'home-'));
    const workers = [];
    const ids = [];
    if (system === 'podman') {
      for (let i = 0; i < n; i++) ids.push(await podman(['run', '-d', 'localhost/footprint-busybox:1', 'sleep', '1000'], env));
    } else {
      for (let i = 0; i < n; i++) workers.push(startWorker(system, system === 'mayfly' ? rootfs : 'localhost/footprint-busybox:1', system === 'mayfly' ? { MAYFLY_HOME: home } : env));
      await Promise.all(workers.map((w) => w.ready));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const wpids = workers.map((w) => w.child.pid);
    const pidsFn = system === 'mayfly' ? () => mayflyPids(wpids, home) : system === 'podman' ? () => conmonPids() : () => [...conmonPids(), ...descendants([service.pid])];
    const m = await peak(pidsFn);
    const workerPss = wpids.length ? sum(wpids, pss) / wpids.length / MiB : undefined;
    rows.push({ system, workers: n, mib: m.bytes / MiB, processes: m.processes, workerPss });
    console.log(JSON.stringify(rows.at(-1)));
    await Promise.all(workers.map((w) => w.stop()));
    if (ids.length) await podman(['rm', '-f', '-t', '0', ...ids], env);
    // a shared sandbox leaves a grace after its last worker, then empties its trash: wait for it
    for (let i = 0; i < 300 && mayflyPids([], home).length; i++) await new Promise((r) => setTimeout(r, 50));
    rmSync(home, { recursive: true, force: true });
  }
  if (service) await service.stop();
  if (system !== 'mayfly') await resetPodman(env);
}
const { loadavg } = await import('node:os');
console.log(JSON.stringify({ load: loadavg().map((x) => x.toFixed(2)).join(' '), shared: process.env.MAYFLY_SHARED_SANDBOX ?? '(default)', uid: process.getuid() }));
console.log('\n| system | workers | peak PSS of the runtime’s processes (MiB) | processes | PSS per worker process itself (MiB) |\n|---|---:|---:|---:|---:|');
for (const r of rows) console.log(r.skipped ? `| ${r.system} | — | skipped: ${r.skipped} | | |` : `| ${r.system} | ${r.workers} | ${r.mib.toFixed(1)} | ${r.processes} | ${r.workerPss?.toFixed(1) ?? '—'} |`);
rmSync(work, { recursive: true, force: true });
