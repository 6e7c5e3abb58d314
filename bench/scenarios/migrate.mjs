// Scenario 15: examples/migrate-from-testcontainers — a Vitest suite written for Testcontainers for
// Node (Redis, PostgreSQL, nginx, two containers on a network) — run as it is on Testcontainers over
// podman's Docker API, and on mayfly with its import switched to `mayfly/testcontainers`. The same
// files, the same images from the bench's registry; each run is a fresh `vitest run` process. The
// figure is the suite's own time (Vitest's report: first file start to last file end, hooks
// included), and beside it the whole process (Vitest's start-up included).
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { conmonPids, PODMAN_DIR } from '../peers/podman.mjs';
import { iterate, now, sleep } from './ready.mjs';

const EXAMPLE = 'examples/migrate-from-testcontainers';
const GAP_MS = 500;
const MAX_FAILURES = 3;

/** The example as its users have it: copied, with node_modules linking the bench's packages (mayfly is the bench's build). */
function install(ctx) {
  const dir = join(ctx.work, 'migrate-example');
  cpSync(join(ctx.checkout ?? ctx.repo, EXAMPLE), dir, { recursive: true, filter: (src) => !src.includes('/node_modules') });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  mkdirSync(join(dir, 'node_modules'));
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    symlinkSync(name === 'mayfly' ? ctx.repo : join(ctx.repo, 'node_modules', name), join(dir, 'node_modules', name));
  }
  return dir;
}

function runSuite(dir, env, report) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(process.execPath, [join(dir, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--reporter', 'json', '--outputFile.json', report], {
      cwd: dir,
      env: { ...env, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = now() - t0;
      let r;
      try {
        r = JSON.parse(readFileSync(report, 'utf8'));
      } catch {
        return reject(new Error(`the suite wrote no report (exit ${code}): ${stderr.slice(-2000)}`));
      }
      rmSync(report, { force: true });
      if (code !== 0 || r.numFailedTests > 0) {
        const failed = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${a.fullName}: ${a.failureMessages?.[0]?.split('\n')[0]}`));
        return reject(new Error(`the suite failed (exit ${code}): ${failed.join('; ') || stderr.slice(-2000)}`));
      }
      const suite = Math.max(...r.testResults.map((f) => f.endTime)) - Math.min(...r.testResults.map((f) => f.startTime));
      const perTest = Object.fromEntries(r.testResults.flatMap((f) => f.assertionResults.map((a) => [a.fullName, a.duration])));
      resolve({ suite, wall, tests: r.numTotalTests, perTest });
    });
  });
}

/**
 * podman keeps a conmon per `exec` session for 300 s after it ends (to report its exit code), even
 * once its container is removed; the suite's execs would outlive the bench. They are podman's
 * helpers of containers this scenario removed: ended here.
 */
async function endExecMonitors() {
  const execs = () => conmonPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('--exec');
    } catch {
      return false;
    }
  });
  // SIGKILL: a conmon that ends normally runs `podman container cleanup` afterwards, which would
  // recreate the store's directories after the bench has reset them
  for (const pid of execs()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 50 && (execs().length || cleanups().length); i++) await sleep(100);
}

/** podman processes that conmons started to clean up after exec sessions */
function cleanups() {
  return readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      return cmd.startsWith('/usr/bin/podman\0') && cmd.includes('\0cleanup\0') && cmd.includes(PODMAN_DIR);
    } catch {
      return false;
    }
  });
}

export async function migrate(ctx) {
  const dir = install(ctx);
  const images = { REDIS_IMAGE: ctx.images.redis, POSTGRES_IMAGE: ctx.images.postgres, NGINX_IMAGE: ctx.images.nginx };
  const n = ctx.iterations(5);
  const rows = [];
  let tests = 0;
  const perTest = { mayfly: {}, testcontainers: {} };
  const keep = (who, r) => {
    for (const [name, ms] of Object.entries(r.perTest)) (perTest[who][name] ??= []).push(ms);
    return { suite: r.suite, wall: r.wall };
  };
  // a run that fails is counted and run again (at most MAX_FAILURES times per system): the figures are of runs that passed
  const failures = { mayfly: [], testcontainers: [] };
  const passing = async (who, env) => {
    for (;;) {
      try {
        return await runSuite(dir, env, join(dir, 'report.json'));
      } catch (e) {
        failures[who].push(e.message.split('\n')[0]);
        if (failures[who].length > MAX_FAILURES) throw e;
        ctx.log(`scenario 15: a ${who} run failed (${failures[who].length}), again: ${e.message.split('\n')[0].slice(0, 300)}`);
      }
    }
  };
  const failed = (who) => ({ failures: failures[who].length, ...(failures[who].length ? { failureSample: failures[who][0].replaceAll('|', '/').slice(0, 300) } : {}) });
  const m = await iterate(n, 1, GAP_MS, async (i) => {
    const r = await passing('mayfly', { ...process.env, ...images, MAYFLY_HOME: ctx.mayflyHome });
    tests = r.tests;
    return i ? keep('mayfly', r) : r;
  });
  rows.push({ system: 'mayfly', label: 'mayfly (`mayfly/testcontainers`): the suite', values: m.suite, main: true, short: 'mayfly', ...failed('mayfly') });
  if (ctx.tc) {
    let t;
    try {
      t = await iterate(n, 1, GAP_MS, async (i) => {
        const r = await passing('testcontainers', { ...process.env, ...images, ...ctx.tc.env, TESTCONTAINERS_TARGET: 'testcontainers' });
        return i ? keep('testcontainers', r) : r;
      });
    } finally {
      await endExecMonitors();
    }
    rows.push({ system: 'testcontainers', label: 'Testcontainers over podman: the suite', values: t.suite, peer: true, short: 'Testcontainers', ...failed('testcontainers') });
    rows.push({ system: 'testcontainers', label: 'Testcontainers over podman: the whole `vitest run` process', values: t.wall, short: 'Testcontainers, process', chart: false });
  }
  rows.splice(1, 0, { system: 'mayfly', label: 'mayfly: the whole `vitest run` process', values: m.wall, short: 'mayfly, process', chart: false });
  rmSync(dir, { recursive: true, force: true });
  return {
    id: 15,
    shortTitle: 'a Testcontainers suite, migrated',
    title: `examples/migrate-from-testcontainers: the same Vitest suite (${tests} tests: Redis, PostgreSQL on tmpfs, nginx with Wait.forHttp, a network), written for Testcontainers, on each`,
    unit: 'ms',
    rows,
    extra: {
      title: 'Each test on its own (Vitest\'s duration of the test body; the Redis of the first describe starts in its beforeAll, outside these)',
      unit: 'ms',
      rows: Object.keys(perTest.mayfly).flatMap((name) => [
        { system: 'mayfly', label: `${name} — mayfly`, values: perTest.mayfly[name] },
        ...(perTest.testcontainers[name] ? [{ system: 'testcontainers', label: `${name} — Testcontainers`, values: perTest.testcontainers[name] }] : []),
      ]),
    },
    targets: (s) => {
      const mayfly = s.find((r) => r.main);
      const tc = s.find((r) => r.peer);
      if (!mayfly || !tc) return [];
      const x = tc.median / mayfly.median;
      return [{ goal: 'the same suite ≥ 3× faster on mayfly than on Testcontainers-over-podman', value: x, text: `${x.toFixed(1)}× faster`, met: x >= 3 }];
    },
  };
}
