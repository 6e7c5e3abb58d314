// Scenario 7: published-port throughput and round-trip latency.
// mayfly and direct loopback come from bench/ports.mjs (run as it is, its table read back from
// bench/results/ports-<who>.md); podman's published port is measured here with the same method and
// server program (busybox nc: a sink that answers after EOF, an echo), beside a direct loopback
// connection to the same program on the host, in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import getPort from 'get-port';
import { podman } from '../peers/podman.mjs';
import { summary } from '../stats.mjs';
import { sleep } from './ready.mjs';
import { throughput, roundTrips } from '../net-measure.mjs';

const BYTES = Number(process.env.BYTES ?? 1e9);
const ROUNDS = Number(process.env.ROUNDS ?? 2000);

async function answers(port) {
  // the connect alone proves nothing (a forwarder may accept first): the echo must come back
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise((r) => {
      const s = connect(port, '127.0.0.1', () => s.write('?'));
      s.on('data', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
      s.on('close', () => r(false));
      s.setTimeout(500, () => (s.destroy(), r(false)));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`port ${port} never echoed`);
}

const SINK = ['nc', '-ll', '-p', '7001', '-e', 'sh', '-c', 'cat > /dev/null; echo done'];
const ECHO = ['nc', '-ll', '-p', '7002', '-e', 'cat'];

async function measure(sinkPort, echoPort) {
  const t = [];
  for (let i = 0; i < 3; i++) t.push(await throughput(sinkPort, BYTES));
  return { mbps: summary(t).median, rtt: summary(await roundTrips(echoPort, ROUNDS)) };
}

/** Reads the direct and published rows of bench/ports.mjs's table. */
function readPortsTable(file) {
  const rows = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const [, name, mbps, median, p90] = cells;
    const key = /^direct/i.test(name ?? '') ? 'direct' : /^published/i.test(name ?? '') ? 'published' : undefined;
    if (key && Number.isFinite(Number(mbps))) rows[key] = { label: name, mbps: Number(mbps), rtt: { median: Number(median), p90: Number(p90) } };
  }
  return rows;
}

export async function ports(ctx) {
  const rows = [];
  const notes = [];
  // mayfly: bench/ports.mjs as it is
  const r = spawnSync(process.execPath, [join(ctx.repo, 'bench/ports.mjs')], {
    // TMPDIR: its scratch directory lands in the bench's, which the bench removes
    env: { ...process.env, TMPDIR: ctx.work, BYTES: String(BYTES), ROUNDS: String(ROUNDS) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 600_000,
  });
  const file = join(ctx.repo, 'bench/results', `ports-${process.getuid() === 0 ? 'root' : 'rootless'}.md`);
  if (r.status === 0) {
    const t = readPortsTable(file);
    if (t.direct) rows.push({ system: 'direct', label: `direct loopback (bench/ports.mjs: ${t.direct.label})`, ...t.direct, base: true, short: 'direct loopback' });
    if (t.published) rows.push({ system: 'mayfly', label: `mayfly published port (bench/ports.mjs: ${t.published.label})`, ...t.published, main: true, short: 'mayfly' });
    if (!t.direct || !t.published) notes.push(`bench/ports.mjs's table could not be read from ${file}`);
  } else {
    notes.push(`bench/ports.mjs failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }

  if (ctx.podman) {
    const hostSink = await getPort({ host: '127.0.0.1' });
    const hostEcho = await getPort({ host: '127.0.0.1' });
    const servers = [
      spawn('busybox', ['nc', '-ll', '-p', String(hostSink), '-e', 'sh', '-c', 'cat > /dev/null; echo done'], { stdio: 'ignore' }),
      spawn('busybox', ['nc', '-ll', '-p', String(hostEcho), '-e', 'cat'], { stdio: 'ignore' }),
    ];
    const pSink = await getPort({ host: '127.0.0.1' });
    const pEcho = await getPort({ host: '127.0.0.1' });
    const ids = [];
    try {
      ids.push(await podman(['run', '-d', '-p', `127.0.0.1:${pSink}:7001`, ctx.images.busybox, ...SINK], ctx.podman.env));
      ids.push(await podman(['run', '-d', '-p', `127.0.0.1:${pEcho}:7002`, ctx.images.busybox, ...ECHO], ctx.podman.env));
      await answers(hostEcho);
      await answers(pEcho);
      const direct = await measure(hostSink, hostEcho);
      const published = await measure(pSink, pEcho);
      rows.push({ system: 'direct', label: 'direct loopback (measured beside podman)', ...direct, podmanBase: true, short: 'direct (podman’s run)' });
      rows.push({ system: 'podman', label: 'podman published port (netavark: iptables DNAT to the container’s bridge address)', ...published, short: 'podman' });
    } finally {
      if (ids.length) await podman(['rm', '-f', '-t', '0', ...ids], ctx.podman.env);
      for (const s of servers) s.kill();
    }
  }
  return {
    id: 7,
    shortTitle: 'published port: throughput',
    title: `Published port: throughput (3 × ${(BYTES / 1e9).toFixed(BYTES >= 1e9 ? 0 : 2)} GB, median) and 1-byte round trips`,
    custom: 'ports',
    rows,
    notes,
    targets: (s) => {
      const d = s.find((x) => x.base);
      const m = s.find((x) => x.main);
      if (!d || !m) return [{ goal: '≥ 50% of direct loopback', text: 'not measured', met: false }];
      const x = m.mbps / d.mbps;
      return [{ goal: '≥ 50% of direct loopback (throughput)', value: x, text: `${(x * 100).toFixed(0)}% of direct`, met: x >= 0.5 }];
    },
  };
}
