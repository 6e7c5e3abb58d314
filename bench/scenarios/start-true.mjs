// Scenario 1: `true` in a tiny image (the host's busybox as a one-layer image from the bench
// registry), from start to exit, beside the bare `unshare` floor and `podman run --rm`.
// Also runnable on its own as an unprivileged user, for mayfly's rootless figures:
//   node bench/scenarios/start-true.mjs --unprivileged IMAGE N   (prints one JSON line)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Runtime } from '../../dist/engine/runtime.js';
import { podman } from '../peers/podman.mjs';
import { iterate, now, runProgram } from './ready.mjs';

const FLOOR = ['--user', '--map-root-user', '--mount', '--pid', '--fork', '--ipc', '--uts', '--net', '/bin/true'];
const GAP_MS = 150;

/** @returns {Promise<import('../report.mjs').Row[]>} */
async function mayflyRows(rt, image, n, who, b2b) {
  const floor = await iterate(n, 3, 0, async () => {
    const t0 = now();
    await runProgram('unshare', FLOOR);
    return { t: now() - t0 };
  });
  const api = await iterate(n, 3, GAP_MS, async () => {
    const t0 = now();
    const c = await rt.run({ image, command: ['true'], pull: 'never' });
    const { exitCode } = await c.wait();
    const t1 = now();
    await c.remove();
    if (exitCode !== 0) throw new Error(`true exited ${exitCode}`);
    return { exit: t1 - t0, cycle: now() - t0 };
  });
  // what a suite starting a container in each test (a beforeEach) pays: no pause between cycles
  const backToBack = await iterate(b2b, 3, 0, async () => {
    const t0 = now();
    const c = await rt.run({ image, command: ['true'], pull: 'never' });
    await c.wait();
    await c.remove();
    return { cycle: now() - t0 };
  });
  return [
    { system: 'floor', label: `floor: \`unshare ${FLOOR.join(' ')}\` from Node (${who})`, values: floor.t, floor: true, short: `unshare floor${who === 'root' ? '' : ' (rootless)'}` },
    { system: 'mayfly', label: `mayfly API: run() → exited (${who}, warm runtime)`, values: api.exit, main: who === 'root', short: who === 'root' ? 'mayfly' : 'mayfly (rootless)' },
    { system: 'mayfly', label: `mayfly API: run() → exited → remove() (${who})`, values: api.cycle, short: `mayfly + remove${who === 'root' ? '' : ' (rootless)'}`, chart: false },
    { system: 'mayfly', label: `mayfly API: ${b2b} × run() → exited → remove() back to back, per cycle (${who})`, values: backToBack.cycle, backToBack: who === 'root', short: `mayfly back to back${who === 'root' ? '' : ' (rootless)'}`, chart: false },
  ];
}

export async function startTrue(ctx) {
  const image = ctx.images.busybox;
  const n = ctx.iterations(30);
  const b2b = ctx.iterations(200);
  const rows = await mayflyRows(ctx.rt, image, n, 'root', b2b);

  const cli = await iterate(Math.min(n, 15), 2, GAP_MS, async () => {
    const t0 = now();
    await runProgram(process.execPath, [join(ctx.repo, 'bin/mayfly.js'), 'run', '--rm', image, 'true'], { env: { ...process.env, MAYFLY_HOME: ctx.mayflyHome } });
    return { t: now() - t0 };
  });
  rows.push({ system: 'mayfly', label: 'mayfly CLI: `mayfly run --rm IMAGE true` (Node start + sandbox start included)', values: cli.t, short: 'mayfly CLI' });

  if (ctx.unprivileged) {
    const r = spawnSync(
      'setpriv',
      ['--reuid', String(ctx.unprivileged.uid), '--regid', String(ctx.unprivileged.gid), '--init-groups', 'env', `HOME=${ctx.unprivileged.home}`, `MAYFLY_HOME=${ctx.unprivileged.home}/mayfly`,
        process.execPath, join(ctx.repo, 'bench/scenarios/start-true.mjs'), '--unprivileged', image, String(n), String(b2b)],
      { encoding: 'utf8', cwd: ctx.unprivileged.home, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
    );
    if (r.status === 0) rows.push(...JSON.parse(r.stdout.trim().split('\n').pop()));
    else rows.push({ system: 'mayfly', label: `mayfly as ${ctx.unprivileged.name}`, failed: `exit ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}` });
  }

  if (ctx.podman) {
    /** @type {[string[], string, boolean, string][]} */
    const variants = [
      [['--network', 'none'], 'podman run --rm --network none IMAGE true (own netns, loopback only: what mayfly gives)', true, 'podman --network none'],
      [[], 'podman run --rm IMAGE true (default bridge network)', false, 'podman'],
    ];
    for (const [flags, label, ref, short] of variants) {
      const r = await iterate(Math.min(n, 20), 3, GAP_MS, async () => {
        const t0 = now();
        await podman(['run', '--rm', ...flags, image, 'true'], ctx.podman.env);
        return { t: now() - t0 };
      });
      rows.push({ system: 'podman', label, values: r.t, peer: ref, short });
    }
  }
  return {
    id: 1,
    title: '`true` in a tiny image: start to exit',
    shortTitle: '`true` in a tiny image, start to exit',
    unit: 'ms',
    rows,
    targets: (s) => {
      const mayfly = s.find((r) => r.main);
      const floor = s.find((r) => r.floor);
      const pm = s.find((r) => r.peer);
      const out = [];
      if (pm) out.push({ goal: '≥ 5× faster than podman run', value: pm.median / mayfly.median, text: `${(pm.median / mayfly.median).toFixed(1)}× faster`, met: pm.median / mayfly.median >= 5 });
      out.push({ goal: 'within 2× of the unshare floor', value: mayfly.median / floor.median, text: `${(mayfly.median / floor.median).toFixed(1)}× the floor`, met: mayfly.median / floor.median <= 2 });
      const b2b = s.find((r) => r.backToBack);
      if (b2b) out.push({ goal: 'back to back within 2× of the floor', value: b2b.median / floor.median, text: `${(b2b.median / floor.median).toFixed(1)}× the floor per cycle`, met: b2b.median / floor.median <= 2 });
      return out;
    },
  };
}

// the unprivileged half: its own runtime and store (pulled untimed), the same loops
if (process.argv[2] === '--unprivileged') {
  const [image, n, b2b] = process.argv.slice(3);
  const rt = await Runtime.start({ onWarning: () => {} });
  try {
    await rt.pull(image);
    const rows = await mayflyRows(rt, image, Number(n), `uid ${process.getuid()}, rootless`, Number(b2b ?? 200));
    process.stdout.write(`${JSON.stringify(rows)}\n`);
  } finally {
    for (const i of rt.images()) await rt.rmi(i.id, { force: true }).catch(() => {});
    await rt.prune().catch(() => {});
    await rt.close();
  }
}
