// podman 4.3 rootless as a second podman peer: what an unprivileged user of podman runs, and the
// configuration in which podman has per-container network helpers (slirp4netns for the network
// namespace, rootlessport for each published port) beside conmon.
//
// It runs as a dedicated user (`mfpodman`, made by scripts/bench-peers-setup.sh with a subordinate
// id range) with its configuration, store and run directory under /var/tmp/mayfly-bench, and needs
// two things this machine does not give out of the box:
// - runc instead of crun ("crun: cgroups in hybrid mode not supported"), cgroupfs, file events;
// - /dev/net/tun for slirp4netns: it is 0600 root here, so the bench grants that one user access
//   with an ACL (setfacl -m u:mfpodman:rw), leaving every other user as they were.
// Storage is kernel overlay in the user namespace (no fuse-overlayfs: /dev/fuse is 0600 too).
// Measured only where it runs detached (`podman run -d`): here an attached `podman run` waits
// 20 s after its container exits (conmon has written the exit file and gone; podman's wait ends
// on its 20-second conmon timer), which would measure that timer, not podman.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOTLESS_USER = 'mfpodman';
const BASE = '/var/tmp/mayfly-bench/podman-rootless';

function ids() {
  const uid = spawnSync('id', ['-u', ROOTLESS_USER], { encoding: 'utf8' });
  if (uid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(spawnSync('id', ['-g', ROOTLESS_USER], { encoding: 'utf8' }).stdout.trim()) };
}

/** Why rootless podman cannot be measured here, or undefined when it can. */
export function rootlessUnavailable() {
  if (process.getuid() !== 0) return 'the bench sets up the rootless podman user: run it as root';
  if (!ids()) return `no user ${ROOTLESS_USER} (bash scripts/bench-peers-setup.sh makes it)`;
  if (spawnSync('setfacl', ['-m', `u:${ROOTLESS_USER}:rw`, '/dev/net/tun']).status !== 0) return 'cannot grant /dev/net/tun to the rootless user (setfacl from apt `acl`)';
  return undefined;
}

export function rootlessConfig() {
  return `podman ${spawnSync('podman', ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ').pop()} (Debian) rootless as user ${ROOTLESS_USER}, OCI runtime runc, cgroup_manager cgroupfs, events_logger file, storage overlay (kernel, in the user namespace), network slirp4netns with rootlessport for published ports, /dev/net/tun granted to that user by an ACL`;
}

/** What the rootless peer left: the user's processes, its directory, the /dev/net/tun grant. */
export function rootlessLeftovers() {
  const id = ids();
  if (!id) return [];
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]) === id.uid) out.push(`process ${d} of ${ROOTLESS_USER}: ${readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ')}`);
    } catch {
      // gone
    }
  }
  if (existsSync(BASE)) out.push(BASE);
  if (spawnSync('getfacl', ['-p', '/dev/net/tun'], { encoding: 'utf8' }).stdout?.includes(`user:${ROOTLESS_USER}:`)) out.push(`/dev/net/tun still granted to ${ROOTLESS_USER}`);
  return out;
}

/** Takes back what rootlessUnavailable() granted. */
export function revokeTun() {
  spawnSync('setfacl', ['-x', `u:${ROOTLESS_USER}`, '/dev/net/tun']);
  // no named entry left (none was there before the bench): drop the ACL's mask too, keep the mode
  const acl = spawnSync('getfacl', ['-p', '-c', '/dev/net/tun'], { encoding: 'utf8' }).stdout ?? '';
  if (!/^(user|group):[^:]+:/m.test(acl)) spawnSync('setfacl', ['-b', '/dev/net/tun']);
}

/** Writes the user's configuration; returns a runner for podman commands as that user. */
export function rootlessPodman(registries = []) {
  const { uid, gid } = ids();
  const home = join(BASE, 'home');
  const runDir = join(BASE, 'run');
  const conf = join(home, '.config/containers');
  mkdirSync(conf, { recursive: true });
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(conf, 'containers.conf'), '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
  writeFileSync(join(conf, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${BASE}/graph"\nrunroot = "${runDir}/containers"\n`);
  writeFileSync(join(conf, 'registries.conf'), `unqualified-search-registries = []\n${registries.map((r) => `[[registry]]\nlocation = "${r}"\ninsecure = true\n`).join('')}`);
  for (const d of [BASE, home, join(home, '.config'), conf, runDir]) chownSync(d, uid, gid);
  for (const f of readdirSync(conf)) chownSync(join(conf, f), uid, gid);
  const env = { HOME: home, USER: ROOTLESS_USER, LOGNAME: ROOTLESS_USER, PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', XDG_RUNTIME_DIR: runDir, LANG: 'C.UTF-8' };
  const argv = (args) => ['--reuid', String(uid), '--regid', String(gid), '--init-groups', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'podman', ...args];

  /** podman as the user; resolves to its trimmed stdout. */
  const run = (args, opts = {}) =>
    new Promise((resolve, reject) => {
      const p = spawn('setpriv', argv(args), { cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => {
        err += d;
        if (process.env.BENCH_DEBUG) process.stderr.write(d);
      });
      p.once('error', reject);
      p.once('exit', (code) => (code === 0 || opts.allowFailure ? resolve(out.trim()) : reject(new Error(`podman (rootless) ${args.join(' ')} exited ${code}: ${err.trim().slice(-500)}`))));
    });

  /** The user's processes by name: conmon, slirp4netns, rootlessport(-child), the pause process. */
  const processes = () => {
    const out = { conmon: [], slirp4netns: [], rootlessport: [], pause: [], other: [] };
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const status = readFileSync(`/proc/${d}/status`, 'utf8');
        if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid) continue;
        const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
        const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
        const key = comm === 'conmon' ? 'conmon' : comm === 'slirp4netns' ? 'slirp4netns' : comm.startsWith('rootlessport') ? 'rootlessport' : comm === 'catatonit' || cmd === 'podman\0' ? 'pause' : 'other';
        out[key].push(Number(d));
      } catch {
        // gone
      }
    }
    return out;
  };

  /** Removes every container and image, the store, and the user's pause process. */
  const reset = async () => {
    await run(['rm', '--all', '--force', '--time', '0'], { allowFailure: true });
    await run(['system', 'reset', '--force'], { allowFailure: true });
    const pauseFile = join(runDir, 'libpod/tmp/pause.pid');
    if (existsSync(pauseFile)) {
      try {
        process.kill(Number(readFileSync(pauseFile, 'utf8')), 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (let i = 0; i < 100; i++) {
      const left = Object.values(processes()).flat();
      if (!left.length) break;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    // root may delete the subordinate-id files the store still holds; the mounts died with the user namespace
    rmSync(BASE, { recursive: true, force: true });
  };
  return { run, processes, reset, uid };
}
