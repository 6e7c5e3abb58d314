// Published-port throughput (1 GB) and request/response round trips, beside a direct loopback
// connection to the same server program (busybox nc) on the host, measured in one run.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import getPort from 'get-port';
import { busyboxRootfs } from '../dist/runtime/busybox-rootfs.js';
import { Runtime } from '../dist/engine/runtime.js';
import { summary } from './stats.mjs';
import { throughput, roundTrips } from './net-measure.mjs';

const work = mkdtempSync(join(tmpdir(), 'mayfly-bench-ports-'));
process.env.MAYFLY_HOME = join(work, 'home');
const rootfs = busyboxRootfs(join(work, 'busybox'));
const GB = Number(process.env.BYTES ?? 1e9);
const ROUNDS = Number(process.env.ROUNDS ?? 2000);

async function waitPort(port) {
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise((r) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`port ${port} never answered`);
}

// the same servers twice: on the host, and in a container behind a published port
const hostSink = await getPort(), hostEcho = await getPort();
const hostServers = [
  spawn('busybox', ['nc', '-ll', '-p', String(hostSink), '-e', 'sh', '-c', 'cat > /dev/null; echo done']),
  spawn('busybox', ['nc', '-ll', '-p', String(hostEcho), '-e', 'cat']),
];
const rt = await Runtime.start({ onWarning: () => {} });
const sink = await rt.run({ layers: [rootfs], command: ['nc', '-ll', '-p', '7001', '-e', 'sh', '-c', 'cat > /dev/null; echo done'], ports: [{ containerPort: 7001 }] });
const echo = await rt.run({ layers: [rootfs], command: ['nc', '-ll', '-p', '7002', '-e', 'cat'], ports: [{ containerPort: 7002 }] });
for (const p of [hostSink, hostEcho, sink.port(7001), echo.port(7002)]) await waitPort(p);

const load = loadavg()[0];
const tput = { direct: [], published: [] };
for (let i = 0; i < 3; i++) {
  tput.direct.push(await throughput(hostSink, GB));
  tput.published.push(await throughput(sink.port(7001), GB));
}
const rtt = { direct: summary(await roundTrips(hostEcho, ROUNDS)), published: summary(await roundTrips(echo.port(7002), ROUNDS)) };
await rt.close();
for (const s of hostServers) s.kill();

const med = (a) => summary(a).median;
const lines = [
  '| path | throughput MB/s (median of 3 × 1 GB) | round trip µs median | p90 |',
  '|---|---:|---:|---:|',
  `| direct loopback (host busybox nc) | ${med(tput.direct).toFixed(0)} | ${rtt.direct.median.toFixed(0)} | ${rtt.direct.p90.toFixed(0)} |`,
  `| published port (sandbox forwarder → container busybox nc) | ${med(tput.published).toFixed(0)} | ${rtt.published.median.toFixed(0)} | ${rtt.published.p90.toFixed(0)} |`,
  `| ratio / added | ${(med(tput.published) / med(tput.direct) * 100).toFixed(0)}% of direct | +${(rtt.published.median - rtt.direct.median).toFixed(0)} µs | |`,
];
const out = `## Published ports — ${new Date().toISOString()}\n\n${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, as ${process.getuid() === 0 ? 'root' : `uid ${process.getuid()}`}, load average ${load.toFixed(1)} at the start (other work on this 2-core machine changes both paths and their ratio: read the numbers with it). podman's port forwarding is measured with the peers (bench issue).\n\n${lines.join('\n')}\n`;
console.log(out);
// an unprivileged run may not write into a root-owned checkout: RESULTS_DIR elsewhere, or just read the output
const resultsDir = process.env.RESULTS_DIR ?? join(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, `ports-${process.getuid() === 0 ? 'root' : 'rootless'}.md`), out);
rmSync(work, { recursive: true, force: true }); // its runtime is closed by now: nothing of the bench stays
