// Scenario 14: the command line, as a user types it — `mayfly version`, `mayfly ps`,
// `mayfly run --rm IMAGE true` with the keeper warm — timed from the command's start to its exit
// (Node's start-up included) and paired run by run with a bare `node -e 0`, so that a machine whose
// speed drifts during the run still gives a meaningful ratio; `podman version/ps/run --rm` beside
// them, paired the same way. The targets are ratios to `node -e 0` in the same run.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { now } from './ready.mjs';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One process from start to exit, in ms; rejects when it fails (a failed run times nothing). */
export function timeProcess(argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const p = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err = (err + d).slice(-1000)));
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve(now() - t0) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`))));
  });
}

/**
 * A and the baseline B in turn (A B A B …, after `warmup` unmeasured pairs); the ratio is taken
 * pair by pair. Returns the times of each and the ratios.
 */
export async function paired(a, b, n, env, warmup = 2) {
  const ta = [];
  const tb = [];
  const ratios = [];
  for (let i = 0; i < n + warmup; i++) {
    const x = await timeProcess(a, env);
    const y = await timeProcess(b, env);
    if (i < warmup) continue;
    ta.push(x);
    tb.push(y);
    ratios.push(x / y);
  }
  return { a: ta, b: tb, ratios, ratio: median(ratios) };
}

/**
 * The CLI's rows: each command paired with `node -e 0`; with podman, its commands too, and podman's
 * run against mayfly's, pair by pair (`podmanOverMayfly`).
 */
export async function cliRows({ mayfly, image, podmanImage, podmanEnv, env, n }) {
  const node = [process.execPath, '-e', '0'];
  const rows = [];
  /** @type {[string, string[], number?][]} */
  const commands = [
    ['version', [...mayfly, 'version'], 1.5],
    ['ps', [...mayfly, 'ps'], 2],
    ['run --rm IMAGE true', [...mayfly, 'run', '--rm', image, 'true'], 3],
    // what Docker's default network costs a run, beside the run above
    ['run --rm --network none IMAGE true', [...mayfly, 'run', '--rm', '--network', 'none', image, 'true']],
  ];
  let mayflyRun;
  for (const [what, argv, target] of commands) {
    const r = await paired(argv, node, n, env);
    if (what === 'run --rm IMAGE true') mayflyRun = argv;
    rows.push({ system: 'mayfly', label: `\`mayfly ${what}\``, values: r.a, baseline: r.b, ratio: r.ratio, target, short: `mayfly ${what.split(' ')[0]}${what.includes('none') ? ' (none)' : ''}`, main: what === 'run --rm IMAGE true' });
  }
  let podmanOverMayfly;
  if (podmanEnv) {
    /** @type {[string, string[]][]} */
    const podmanCommands = [
      ['version', ['podman', 'version']],
      ['ps', ['podman', 'ps']],
      ['run --rm IMAGE true', ['podman', 'run', '--rm', podmanImage, 'true']],
      ['run --rm --network none IMAGE true', ['podman', 'run', '--rm', '--network', 'none', podmanImage, 'true']],
    ];
    for (const [what, argv] of podmanCommands) {
      const r = await paired(argv, node, n, podmanEnv);
      rows.push({ system: 'podman', label: `\`podman ${what}\``, values: r.a, baseline: r.b, ratio: r.ratio, short: `podman ${what.split(' ')[0]}${what.includes('none') ? ' (none)' : ''}` });
    }
    // mayfly's run against podman's, pair by pair (each with its own environment)
    const vs = [];
    for (let i = 0; i < n + 2; i++) {
      const x = await timeProcess(mayflyRun, env);
      const y = await timeProcess(['podman', 'run', '--rm', podmanImage, 'true'], podmanEnv);
      if (i >= 2) vs.push(y / x);
    }
    podmanOverMayfly = median(vs);
  }
  return { rows, podmanOverMayfly };
}

/** Scenario 14 of `npm run bench`. */
export async function cliLatency(ctx) {
  const env = { ...process.env, MAYFLY_HOME: ctx.mayflyHome };
  const mayfly = [process.execPath, join(ctx.repo, 'bin/mayfly.js')];
  const n = ctx.iterations(15);
  // the keeper is the warm engine: started (and the image found in the store) before any clock runs
  await timeProcess([...mayfly, 'run', '--rm', ctx.images.busybox, 'true'], env);
  let rows;
  let vsPodman;
  try {
    ({ rows, podmanOverMayfly: vsPodman } = await cliRows({ mayfly, image: ctx.images.busybox, podmanImage: ctx.images.busybox, podmanEnv: ctx.podman?.env, env, n }));
  } finally {
    // the keeper goes with the scenario: nothing of the run may remain
    const { stopKeeper } = await import(join(ctx.repo, 'dist/keeper/client.js'));
    await stopKeeper();
  }
  return {
    id: 14,
    title: 'The CLI as typed: command start to exit, paired with a bare `node -e 0`',
    shortTitle: 'CLI: version, ps, run --rm (keeper warm)',
    unit: 'ms',
    rows: [
      { system: 'baseline', label: '`node -e 0` (paired with each mayfly command; median of all its runs)', values: rows.filter((r) => r.system === 'mayfly').flatMap((r) => r.baseline), floor: true, short: 'node -e 0' },
      ...rows.map((r) => ({ ...r, label: `${r.label} — ${r.ratio.toFixed(2)}× node -e 0` })),
    ],
    targets: () => [
      ...rows
        .filter((r) => r.target)
        .map((r) => ({ goal: `${r.label} ≤ ${r.target}× node -e 0`, value: r.ratio, text: `${r.ratio.toFixed(2)}×`, met: r.ratio <= r.target })),
      ...(vsPodman ? [{ goal: '`mayfly run --rm` faster than `podman run --rm`', value: vsPodman, text: `${vsPodman.toFixed(1)}× faster`, met: vsPodman > 1 }] : []),
    ],
  };
}
