// Container start inside a CI job's container beside the host (issue 17): bench/scenarios/job-start.mjs
// on the host, then in the job image of test/job-container/ under rootful podman — with podman's
// defaults (MAYFLY_HOME on the job's overlay root: upper dirs on a tmpfs), with MAYFLY_HOME on a
// volume (plain overlay), with the copy driver (the fallback before), and with /proc unmasked.
// Needs root and the job image (`bash scripts/test-job-container` builds it). Writes
// bench/results/job-container-root.md.
//   node bench/job-container.mjs [N]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { podmanEnv } from './peers/podman.mjs';
import { summary } from './stats.mjs';

const repo = resolve(import.meta.dirname, '..');
const N = Number(process.argv[2] ?? process.env.N ?? 30);
const JOB_PODMAN_DIR = '/var/tmp/mayfly-job-container/podman'; // test/job-container/job-image.ts
const CACHE = process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache';

if (process.getuid() !== 0) throw new Error('bench/job-container.mjs drives rootful podman: run it as root');
const env = podmanEnv([], JOB_PODMAN_DIR);
const images = spawnSync('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=localhost/mayfly-test/ci-job'], { env, encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
if (!images.length) throw new Error('no job image: run `bash scripts/test-job-container` once (it builds and caches it)');
const image = images[0];
const debian = newest(join(CACHE, 'preset-images'), 'debian-bookworm-');

function newest(dir, prefix) {
  try {
    return readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.tar')).map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

/** A job-start.mjs that answers requests one line at a time. */
function place(label, file, args, opts) {
  const p = spawn(file, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: p.stdout });
  const queue = [];
  let stderr = '';
  p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  lines.on('line', (l) => queue.shift()?.resolve(l));
  p.once('exit', (code) => {
    for (const w of queue.splice(0)) w.reject(new Error(`${label}: exited ${code}: ${stderr}`));
  });
  const next = () => new Promise((resolve, reject) => queue.push({ resolve, reject }));
  const ready = next();
  return {
    label,
    ready,
    async ask(what) {
      p.stdin.write(`${what}\n`);
      return JSON.parse(await next());
    },
    close: () => new Promise((r) => {
      p.once('exit', r);
      p.stdin.end('quit\n');
    }),
  };
}

const args = ['bench/scenarios/job-start.mjs', ...(debian ? [debian] : [])];
const hostHome = mkdtempSync('/var/tmp/mayfly-bench-home-');
const volumes = [];
const inJob = (label, flags) =>
  place(label, 'podman', ['run', '--rm', '-i', ...flags, '-v', `${repo}:/mayfly:ro`, '-v', `${process.execPath}:/usr/local/bin/node:ro`, '-v', `${CACHE}:${CACHE}:ro`, '-w', '/mayfly', image, 'node', ...args], { env });
const places = [
  place('host (root)', process.execPath, args, { cwd: repo, env: { ...process.env, MAYFLY_HOME: hostHome } }),
  inJob('job, podman defaults (MAYFLY_HOME on the overlay root)', []),
  inJob('job, MAYFLY_HOME on a volume', ['-v', `${volume()}:/var/lib/mayfly`, '-e', 'MAYFLY_HOME=/var/lib/mayfly']),
  inJob('job, copy driver (MAYFLY_ROOTFS_DRIVER=copy)', ['-e', 'MAYFLY_ROOTFS_DRIVER=copy']),
  inJob('job, --security-opt unmask=ALL', ['--security-opt', 'unmask=ALL']),
];
for (const p of places) await p.ready;

// round-robin: each round asks every place once, so drifting load hits every place alike; the
// pause before each ask lets the previous place warm its next shim (a Node start-up) undisturbed,
// as a suite that starts containers now and then does
/** @type {[string, string, number, number][]} request, label, rounds measured, rounds before them */
const CASES = [
  ['warm', 'busybox `true`, start() → exited (warm sandbox and shim)', N, 2],
  ['debian', 'Debian base (170 MB, one layer) `true`, create + start → exited', 5, 1],
  ['cold', 'busybox `true`, cold: Runtime.start() + run → exited', Math.max(5, Math.floor(N / 4)), 1],
];
const results = new Map(places.map((p) => [p, new Map()]));
for (const [what, , n, warmup] of CASES) {
  for (let round = 0; round < n + warmup; round++) {
    for (const p of places) {
      await new Promise((r) => setTimeout(r, 600));
      const ms = await p.ask(what);
      if (round >= warmup && ms >= 0) (results.get(p).get(what) ?? results.get(p).set(what, []).get(what)).push(ms);
    }
  }
}
const info = new Map();
for (const p of places) info.set(p, await p.ask('info'));
await Promise.all(places.map((p) => p.close()));
rmSync(hostHome, { recursive: true, force: true });
for (const v of volumes) rmSync(v, { recursive: true, force: true });

function volume() {
  const d = mkdtempSync(join(JOB_PODMAN_DIR, '..', 'bench-volume-'));
  volumes.push(d);
  return d;
}

const host = places[0];
const lines = [
  `## Container start inside a CI job's container — ${new Date().toISOString()}`,
  '',
  `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}; the job: rootful podman ${spawnSync('podman', ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ').pop()} (runc, its default seccomp profile and capabilities, masked /proc, no /dev/fuse, no /dev/net/tun), image ${image}, mayfly as root in it. Every place is asked in turn, round after round, so a shared machine's load falls on all alike. Medians (p90) in ms; ×: the median against the host's.`,
  '',
  `| where | rootfs driver | /proc | ${CASES.map(([, label]) => label).join(' | ')} |`,
  `|---|---|---|${CASES.map(() => '---:').join('|')}|`,
  ...places.map((p) => {
    const cells = CASES.map(([what]) => {
      const v = results.get(p).get(what);
      const h = results.get(host).get(what);
      if (!v?.length) return '–';
      const s = summary(v);
      return `${s.median.toFixed(1)} (${s.p90.toFixed(1)})${p === host ? '' : ` ${(s.median / summary(h).median).toFixed(2)}×`}`;
    });
    const i = info.get(p);
    return `| ${p.label} | ${i.rootfsDriver} | ${i.proc} | ${cells.join(' | ')} |`;
  }),
  '',
];
const out = lines.join('\n');
console.log(out);
mkdirSync(join(repo, 'bench/results'), { recursive: true });
writeFileSync(join(repo, 'bench/results/job-container-root.md'), out);
