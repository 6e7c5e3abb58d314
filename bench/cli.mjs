// The CLI's latency on its own (scenario 14 of `npm run bench` without the rest):
//
//   npm run build && node bench/cli.mjs [N]        (N pairs per command, default 15; writes bench/results/cli-<who>.md)
//
// Each command is timed from its start to its exit and paired run by run with a bare `node -e 0`
// (A B A B …): the ratios are the medians of the pairs' ratios. Targets: `mayfly version` ≤ 1.5×,
// `mayfly ps` ≤ 2×, `mayfly run --rm IMAGE true` ≤ 3× (the keeper warm). Where podman runs (as
// root, installed by scripts/bench-peers-setup.sh), its commands are paired the same way, and
// `podman run --rm` against `mayfly run --rm`. Works in a private MAYFLY_HOME and a private podman
// store; removes both, the keeper included.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs } from '../dist/runtime/busybox-rootfs.js';
import { cliRows, timeProcess } from './scenarios/cli.mjs';
import { podmanUnavailable } from './peers/podman.mjs';

const n = Number(process.argv[2] ?? 15);
const repo = join(import.meta.dirname, '..');
mkdirSync('/var/tmp/mayfly-bench', { recursive: true });
const work = mkdtempSync('/var/tmp/mayfly-bench/cli-');
const home = join(work, 'home');
const env = { ...process.env, MAYFLY_HOME: home };
const mayfly = [process.execPath, join(repo, 'bin/mayfly.js')];
const image = 'bench/busybox:1';
const rootfs = busyboxRootfs(join(work, 'busybox'));
const log = (s) => process.stderr.write(`[cli bench] ${s}\n`);

let podmanEnv;
const podmanDir = join(work, 'podman');
try {
  await timeProcess([...mayfly, 'import', rootfs, image], env);
  const why = podmanUnavailable();
  if (why) log(`podman not measured: ${why}`);
  else {
    // a private store and configuration (bench/peers/podman.mjs explains the settings), the same busybox
    const { podmanEnv: makeEnv } = await import('./peers/podman.mjs');
    podmanEnv = makeEnv([], podmanDir);
    const imported = spawnSync('sh', ['-c', `tar -C "${rootfs}" -c . | podman import - ${image}`], { env: podmanEnv, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (imported.status !== 0) {
      log(`podman not measured: podman import failed: ${imported.stderr.trim()}`);
      podmanEnv = undefined;
    } else if (spawnSync('podman', ['run', '--rm', image, 'true'], { env: podmanEnv }).status !== 0) {
      log('podman not measured: `podman run --rm` fails on this machine');
      podmanEnv = undefined;
    }
  }
  log(`warming the keeper, then ${n} pairs per command`);
  await timeProcess([...mayfly, 'run', '--rm', image, 'true'], env);
  const { rows, podmanOverMayfly } = await cliRows({ mayfly, image, podmanImage: image, podmanEnv, env, n });
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const lines = ['| command | median ms | node -e 0 median ms | ratio (median of pairs) | target | met |', '|---|---:|---:|---:|---|:---:|'];
  for (const r of rows) {
    lines.push(`| ${r.label} | ${med(r.values).toFixed(0)} | ${med(r.baseline).toFixed(0)} | ${r.ratio.toFixed(2)}× | ${r.target ? `≤ ${r.target}×` : ''} | ${r.target ? (r.ratio <= r.target ? 'yes' : '**no**') : ''} |`);
  }
  if (podmanOverMayfly) lines.push('', `\`podman run --rm IMAGE true\` ÷ \`mayfly run --rm IMAGE true\`, pair by pair: ${podmanOverMayfly.toFixed(2)}×`);
  const who = process.getuid() === 0 ? 'root' : 'rootless';
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const head = [`## The CLI's latency — ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`, '', `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, as ${who}; ${n} pairs per command; load average ${load} at the end. The keeper warm; \`bench/busybox:1\` (the host's busybox) in the store; podman as configured by bench/peers/podman.mjs.`, ''];
  const md = `${[...head, ...lines].join('\n')}\n`;
  process.stdout.write(md);
  mkdirSync(join(repo, 'bench/results'), { recursive: true });
  writeFileSync(join(repo, `bench/results/cli-${who}.md`), md);
} finally {
  spawnSync(process.execPath, ['-e', `import(${JSON.stringify(join(repo, 'dist/keeper/client.js'))}).then((m) => m.stopKeeper())`], { env, stdio: 'inherit' });
  if (podmanEnv) {
    spawnSync('podman', ['rm', '--all', '--force'], { env: podmanEnv, stdio: 'ignore' });
    spawnSync('podman', ['system', 'reset', '--force'], { env: podmanEnv, stdio: 'ignore' });
  }
  // layers hold files of subordinate ids when rootless: the store is emptied by mayfly itself
  spawnSync(process.execPath, [mayfly[1], 'rmi', '-f', image], { env, stdio: 'ignore' });
  spawnSync(process.execPath, [mayfly[1], 'image', 'prune'], { env, stdio: 'ignore' });
  spawnSync(process.execPath, ['-e', `import(${JSON.stringify(join(repo, 'dist/keeper/client.js'))}).then((m) => m.stopKeeper())`], { env, stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
