// Scenario 5, second half: what each system leaves behind.
// - after a normal teardown (checked once every scenario is done, in run.mjs: leftoversNow);
// - after the test process that owns a container is killed with SIGKILL (no cleanup code runs):
//   a child process (owner.mjs) starts a `sleep` container and says so; the bench kills it and
//   watches, for up to 5 s, what remains: the container's process, the runtime's processes that
//   served it, the container's state and mounts.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { conmonPids, podman, PODMAN_DIR } from '../peers/podman.mjs';
import { descendants, mountsMentioning, processesMatching } from './procfs.mjs';
import { now, sleep } from './ready.mjs';

export const MARKER_SECONDS = '86399';

function entries(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * What is there now, for one system.
 * @param {string} system
 * @param {any} ctx
 * @param {{ home?: string, pids?: number[] }} [opts]
 */
export async function leftoversNow(system, ctx, { home, pids = [] } = {}) {
  const alive = pids.filter((p) => existsSync(`/proc/${p}`));
  const marker = processesMatching(`sleep ${MARKER_SECONDS}`).length;
  if (system === 'mayfly') {
    return {
      processes: alive.length + marker,
      state: entries(join(home, 'containers')).length,
      mounts: mountsMentioning(home).length,
    };
  }
  const ids = (await podman(['ps', '-aq'], ctx.podman.env)).split('\n').filter(Boolean);
  return {
    processes: new Set([...alive, ...conmonPids()]).size + marker,
    state: ids.length,
    mounts: mountsMentioning(join(PODMAN_DIR, 'graph/overlay')).filter((l) => l.includes('/merged')).length,
  };
}

const total = (l) => l.processes + l.state + l.mounts;

async function killedOwner(ctx, system) {
  const home = join(ctx.work, `owner-${system}`);
  const child = spawn(process.execPath, [join(ctx.repo, 'bench/scenarios/owner.mjs'), system, ctx.images.busybox, MARKER_SECONDS], {
    env: { ...process.env, ...(system === 'mayfly' ? { MAYFLY_HOME: home } : ctx.podman.env), ...(system === 'testcontainers' ? ctx.tc.env : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  for (let i = 0; !out.includes('ready'); i++) {
    if (child.exitCode !== null || i > 3000) throw new Error(`owner (${system}) did not start its container: ${err}`);
    await sleep(20);
  }
  // everything the owner started (runtime and container) is below it, or a conmon (podman's double fork)
  const pids = descendants([child.pid]).filter((p) => p !== child.pid);
  if (system !== 'mayfly') pids.push(...conmonPids());
  const gone = new Promise((r) => child.once('exit', r));
  const t0 = now();
  child.kill('SIGKILL');
  await gone;
  let left = await leftoversNow(system, ctx, { home, pids });
  while (total(left) && now() - t0 < 5000) {
    await sleep(20);
    left = await leftoversNow(system, ctx, { home, pids });
  }
  const cleanMs = total(left) ? undefined : now() - t0;
  // the bench itself leaves nothing: remove what the system did not
  if (system !== 'mayfly') await podman(['rm', '--all', '--force', '--time', '0'], ctx.podman.env);
  for (const p of pids) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  return { left, cleanMs };
}

export async function killedOwnerRows(ctx) {
  const systems = ['mayfly', ...(ctx.podman ? ['podman'] : []), ...(ctx.tc ? ['testcontainers'] : [])];
  const out = [];
  for (const s of systems) {
    const label = {
      mayfly: 'mayfly (Runtime in the killed process)',
      podman: 'podman (`podman run -d` from the killed process)',
      testcontainers: `Testcontainers (GenericContainer in the killed process; Ryuk ${ctx.tc?.ryuk ?? 'disabled'})`,
    }[s];
    try {
      out.push({ system: s, label, ...(await killedOwner(ctx, s)) });
    } catch (e) {
      out.push({ system: s, label, failed: e.message });
    }
  }
  return out;
}
