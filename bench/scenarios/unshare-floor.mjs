// The floor for bench/concurrent-sites.mjs: the image's own entrypoint and command, started with
// plain util-linux and no runtime, so that what a round of mayfly costs beyond the containers' own
// start-up can be told apart. As root only (the maps and mounts below are written from outside).
//
// Prepared before each round, and not counted: one overlay per site on the image's layers as
// mayfly's store keeps them (fresh upper dirs each round: the IPv6 hook edits default.conf, and a
// second round must do the same work as the first), the host's /dev bound into it, and a network
// namespace per site with a veth to the host (10.213.N.2, port 80 as in the image's default.conf:
// the same config byte for byte, so the hook's cmp + awk + rewrite run as in a container).
// One user namespace, mapping ids 0–65535 to themselves as mayfly's sandbox does as root, is made
// once and shared, as the sandbox's is by its containers.
//
// Counted, per site (all forked by one `sh`): `nsenter` into its network namespace and the user namespace, then `unshare`
// of mount, pid, ipc and uts namespaces with a fresh /proc in the overlay as root directory, and
// the image's entrypoint and command with its environment. Not done, unlike a container: no seccomp
// filter, no capability drop, no pivot_root, no /etc/hosts, output thrown away instead of logged,
// no port forwarder (the probe reaches the site over its veth directly).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './ready.mjs';

const quote = (a) => `'${a.replaceAll("'", "'\\''")}'`;
const quietly = (f) => {
  try {
    f();
  } catch {}
};
const sh = (cmd, ...args) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
const ip = (...args) => sh('ip', ...args);

/** A process whose only job is to hold the shared user namespace open (until its stdin closes). */
async function userNamespace() {
  const holder = spawn('unshare', ['--user', 'sh', '-c', 'read -r _'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const ours = readlinkSync('/proc/self/ns/user');
  for (let i = 0; ; i++) {
    let ns;
    try {
      ns = readlinkSync(`/proc/${holder.pid}/ns/user`);
    } catch {}
    // the maps are written once `sh` runs: before unshare's exec they would belong to our namespace
    if (ns && ns !== ours && readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() === 'sh') break;
    if (i > 2000) throw new Error('the floor: no user namespace');
    await sleep(1);
  }
  writeFileSync(`/proc/${holder.pid}/uid_map`, '0 0 65536\n');
  writeFileSync(`/proc/${holder.pid}/gid_map`, '0 0 65536\n');
  return holder;
}

/**
 * @param {{ dir: string, layers: string[], config: { Entrypoint?: string[], Cmd?: string[], Env?: string[] }, count: number }} o
 *   layers: the image's layer directories, bottom first
 */
export async function unshareFloor({ dir, layers, config, count }) {
  if (process.getuid?.() !== 0) throw new Error('the unshare floor runs as root');
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  const netns = (i) => `mayfly-floor-${i}`;
  const site = (i) => join(dir, String(i));
  for (let i = 0; i < count; i++) {
    const n = i + 1;
    quietly(() => execFileSync('ip', ['netns', 'del', netns(i)], { stdio: 'ignore' })); // left by a run that was killed
    ip('netns', 'add', netns(i));
    ip('link', 'add', `mflr${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns(i));
    ip('addr', 'add', `10.213.${n}.1/24`, 'dev', `mflr${n}`);
    ip('link', 'set', `mflr${n}`, 'up');
    ip('-n', netns(i), 'addr', 'add', `10.213.${n}.2/24`, 'dev', 'eth0');
    ip('-n', netns(i), 'link', 'set', 'eth0', 'up');
    ip('-n', netns(i), 'link', 'set', 'lo', 'up');
    // port 80 is the init namespace's to grant: this network namespace belongs to it, not to ours
    sh('nsenter', `--net=/run/netns/${netns(i)}`, 'sysctl', '-qw', 'net.ipv4.ip_unprivileged_port_start=0');
  }
  const holder = await userNamespace();
  const lower = [...layers].reverse().join(':');
  let mounted = false;

  const unmount = () => {
    if (!mounted) return;
    for (let i = 0; i < count; i++) {
      sh('umount', '-l', join(site(i), 'rootfs', 'dev'));
      sh('umount', '-l', join(site(i), 'rootfs'));
    }
    mounted = false;
  };

  return {
    /** fresh overlays for a round (not counted) */
    prepare() {
      unmount();
      for (let i = 0; i < count; i++) {
        rmSync(site(i), { recursive: true, force: true });
        for (const d of ['upper', 'work', 'rootfs']) mkdirSync(join(site(i), d), { recursive: true });
        const rootfs = join(site(i), 'rootfs');
        sh('mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${join(site(i), 'upper')},workdir=${join(site(i), 'work')},userxattr,volatile`, rootfs);
        sh('mount', '--bind', '/dev', join(rootfs, 'dev'));
      }
      mounted = true;
    },
    /**
     * Starts every site at once: one `sh` forks the `count` nsenter commands (a fork of a small
     * shell costs far less than a spawn from Node, which copies this process's page tables and
     * waits for each exec in turn: 20 spawns from the bench took ~700 ms under load)
     */
    startAll() {
      const line = (i) =>
        [`--net=/run/netns/${netns(i)}`, `--user=/proc/${holder.pid}/ns/user`, '--preserve-credentials',
          'unshare', '--mount', '--pid', '--ipc', '--uts', '--fork', '--kill-child', `--root=${join(site(i), 'rootfs')}`, '--mount-proc',
          ...argv].map(quote).join(' ');
      const script = [...Array.from({ length: count }, (_, i) => `HOSTNAME=floor${i} nsenter ${line(i)} &`), 'wait'].join('\n');
      // its own process group: a kill of the group reaches every unshare, whose --kill-child ends its site
      const child = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true, env: Object.fromEntries((config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])) });
      const exited = new Promise((r) => child.once('exit', r));
      return {
        pid: child.pid,
        urls: Array.from({ length: count }, (_, i) => `http://10.213.${i + 1}.2:80/`),
        async stop() {
          process.kill(-child.pid, 'SIGKILL');
          await exited;
        },
      };
    },
    async close() {
      // the sites' pid namespaces end a moment after unshare: lazy unmounts, then the directories
      unmount();
      holder.stdin.end();
      for (let i = 0; i < count; i++) quietly(() => ip('netns', 'del', netns(i)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
