// podman from Debian (4.3) as a peer, configured so that it runs on this kind of machine, with all
// its state (configuration, store, run directory, API socket) under one private directory: the
// machine's own podman set-up, if any, is neither used nor changed.
//
// Out of the box podman 4.3 does not run here:
// - rootless: "crun: cgroups in hybrid mode not supported" (cgroup v1 controllers plus a cgroup2
//   mount that has one) and slirp4netns cannot open /dev/net/tun (mode 0600);
// - rootful: runc/crun fail on setrlimit: podman's default ulimits (nofile 1048576, nproc 4194304)
//   are above this machine's hard limits, and CAP_SYS_RESOURCE is not in the bounding set.
// So the peer runs rootful, with runc (crun refuses the hybrid cgroup layout even as root),
// cgroupfs (no systemd), a file events logger (no journald) and default_ulimits inside the hard
// limits. Networking is podman's default rootful bridge (netavark; published ports by iptables DNAT,
// no proxy process).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PODMAN_DIR = '/var/tmp/mayfly-bench/podman';
const NOFILE = hardLimit('Max open files') ?? 20000;
const NPROC = Math.min(hardLimit('Max processes') ?? 32768, 32768);

export const PODMAN_CONFIG =
  `podman ${podmanVersion()} (Debian) rootful, OCI runtime runc, cgroup_manager cgroupfs, events_logger file, ` +
  `default_ulimits nofile=${NOFILE} nproc=${NPROC} (the host's hard limits), storage overlay in ${PODMAN_DIR}, ` +
  'network: default bridge (netavark), ports by iptables DNAT';

function hardLimit(name) {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const hard = line?.slice(26).trim().split(/\s+/)[1];
  return hard && /^\d+$/.test(hard) ? Number(hard) : undefined;
}

function podmanVersion() {
  const r = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split(' ').pop() : '(not installed)';
}

/**
 * The environment that points podman (and skopeo) at the private configuration; `registries`:
 * host:port served over plain HTTP; `dir`: where configuration and state live (the bench's own by
 * default; the CI job container tests keep theirs apart, test/job-container/). Podman's scratch
 * directory (tmp_dir, /run/libpod by default) is private too: two stores sharing it trip over
 * each other's state.
 */
export function podmanEnv(registries = [], dir = PODMAN_DIR) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'containers.conf'),
    `[containers]\ndefault_ulimits = ["nofile=${NOFILE}:${NOFILE}", "nproc=${NPROC}:${NPROC}"]\n` +
      `[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\ntmp_dir = "${dir}/run/libpod"\n`,
  );
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/graph"\nrunroot = "${dir}/run"\n`);
  writeFileSync(
    join(dir, 'registries.conf'),
    `unqualified-search-registries = []\n${registries.map((r) => `[[registry]]\nlocation = "${r}"\ninsecure = true\n`).join('')}`,
  );
  return {
    ...process.env,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
  };
}

/** Why podman cannot be measured here, or undefined when it can. */
export function podmanUnavailable() {
  if (process.getuid() !== 0) return 'podman peer runs rootful: run the bench as root';
  if (spawnSync('podman', ['--version']).status !== 0) return 'podman not installed (bash scripts/bench-peers-setup.sh)';
  return undefined;
}

/** Runs podman; resolves to its trimmed stdout, rejects with its stderr. */
export function podman(args, env, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn('podman', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.once('error', reject);
    p.once('exit', (code) => {
      if (code === 0 || opts.allowFailure) resolve(out.trim());
      else reject(new Error(`podman ${args.join(' ')} exited ${code}: ${err.trim().slice(-500)}`));
    });
  });
}

/** Imports a root filesystem directory as a podman image (once). */
export function importRootfs(rootfs, name) {
  const env = podmanEnv();
  if (spawnSync('podman', ['image', 'exists', name], { env }).status === 0) return;
  const r = spawnSync('sh', ['-c', `tar -C "${rootfs}" -c . | podman import - "${name}"`], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`podman import ${name} failed`);
}

/** podman's Docker-compatible API (`podman system service`) on a unix socket, for Testcontainers. */
export async function startPodmanService(env) {
  const socket = join(PODMAN_DIR, 'podman.sock');
  const stale = () => servicePids(socket);
  // a run killed before its clean-up left its service behind: this socket path is the bench's own
  for (const pid of stale()) process.kill(pid, 'SIGKILL');
  rmSync(socket, { force: true });
  const child = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  for (let i = 0; !existsSync(socket); i++) {
    if (child.exitCode !== null) throw new Error(`podman system service exited: ${stderr}`);
    if (i > 500) throw new Error(`podman system service made no socket: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    socket,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }
      for (const pid of stale()) process.kill(pid, 'SIGKILL');
      rmSync(socket, { force: true });
    },
  };
}

/** Removes every container and image of the private store, and the store itself. */
export async function resetPodman(env) {
  await podman(['rm', '--all', '--force', '--time', '0'], env, { allowFailure: true });
  await podman(['system', 'reset', '--force'], env, { allowFailure: true });
  rmSync(join(PODMAN_DIR, 'graph'), { recursive: true, force: true });
  rmSync(join(PODMAN_DIR, 'run'), { recursive: true, force: true });
}

function servicePids(socket) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.startsWith('podman\0system\0service') && cmd.includes(socket)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** conmon processes of this store (one per running container: podman's per-container monitor). */
export function conmonPids() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== 'conmon') continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(PODMAN_DIR)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
