// What Docker's default network costs per container start: `true` from create to exit with
// `network: 'none'` (the harness's default) and `network: 'bridge'` (the CLI's default, as Docker's),
// in turn, in one warm runtime. On `bridge` each start also makes a veth into the bridge and — where
// /dev/net/tun lets slirp4netns run — the container's way out.
//
//   npm run build && node bench/default-network.mjs [N]      (as root, and as an unprivileged user)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../dist/engine/runtime.js';
import { busyboxRootfs } from '../dist/runtime/busybox-rootfs.js';
import { outboundSupport } from '../dist/network/outbound.js';

const n = Number(process.argv[2] ?? 30);
const work = mkdtempSync(join(process.env.MAYFLY_BENCH_TMP ?? tmpdir(), 'mayfly-default-network-'));
process.env.MAYFLY_HOME = join(work, 'home');
const rootfs = busyboxRootfs(join(work, 'busybox'));
const rt = await Runtime.start({ onWarning: () => {} });
const now = () => performance.now();
// CPU time is what a start costs the machine whoever else runs on it: this process's, and the
// sandbox's with every child it has reaped (shims, `ip`, slirp4netns), in ms
const sandboxPid = rt.sandbox.processId();
const cpu = () => {
  const f = readFileSync(`/proc/${sandboxPid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const own = process.cpuUsage();
  return ticks * 10 + (own.user + own.system) / 1000;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(network) {
  const c0 = cpu();
  const t0 = now();
  const c = await rt.create({ layers: [rootfs], command: ['true'], network });
  await c.start();
  const { exitCode } = await c.wait();
  const t = now() - t0;
  await c.remove();
  await new Promise((r) => setTimeout(r, 100)); // the shim pool refills between starts (its CPU counted too)
  if (exitCode !== 0) throw new Error(`true exited ${exitCode} on ${network}`);
  return { t, cpu: cpu() - c0 };
}

try {
  const times = { none: [], bridge: [] };
  const cpus = { none: [], bridge: [] };
  for (let i = 0; i < n + 3; i++) {
    for (const net of i % 2 ? ['none', 'bridge'] : ['bridge', 'none']) {
      const r = await once(net);
      if (i < 3) continue;
      times[net].push(r.t);
      cpus[net].push(r.cpu);
    }
  }
  const out = outboundSupport();
  const who = process.getuid() === 0 ? 'root' : `uid ${process.getuid()}`;
  const [none, bridge] = [median(times.none), median(times.bridge)];
  const [cNone, cBridge] = [median(cpus.none), median(cpus.bridge)];
  process.stdout.write(
    `${who}, ${n} starts each (load ${loadavg()[0].toFixed(1)}), medians of create → start → exit of \`true\`, wall and CPU (all processes):\n` +
      `  network none     ${none.toFixed(1)} ms   CPU ${cNone.toFixed(0)} ms\n` +
      `  network bridge   ${bridge.toFixed(1)} ms   CPU ${cBridge.toFixed(0)} ms   (+${(bridge - none).toFixed(1)} ms, +${(cBridge - cNone).toFixed(0)} ms CPU; outbound ${'reason' in out ? `not available: ${out.reason}` : 'by slirp4netns'})\n`,
  );
} finally {
  await rt.close();
  rmSync(work, { recursive: true, force: true });
}
