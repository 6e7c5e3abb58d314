#!/usr/bin/env node
// `npm run reliability`: the long reliability and security cases — escape attempts, 50 random
// SIGKILLs, registry faults, ENOSPC, the keeper killed, load (1,000 cycles, 100 containers, 8
// workers x 10, 50 CLI commands) and bad input at 1,000 runs per property — as root and, when run
// as root, again as an unprivileged user; then the figures in bench/results/reliability.md.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const logs = mkdtempSync(join(tmpdir(), 'mayfly-reliability-'));
chmodSync(logs, 0o777);
const files = ['test/security', 'test/reliability'];
const settings = {
  MAYFLY_RELIABILITY: '1',
  MAYFLY_RELIABILITY_KILLS: process.env.MAYFLY_RELIABILITY_KILLS ?? '50',
  MAYFLY_RELIABILITY_RUNS: process.env.MAYFLY_RELIABILITY_RUNS ?? '1000',
  MAYFLY_RELIABILITY_RACES: process.env.MAYFLY_RELIABILITY_RACES ?? '50',
  MAYFLY_RELIABILITY_CYCLES: process.env.MAYFLY_RELIABILITY_CYCLES ?? '1000',
};

async function run(who) {
  const log = join(logs, `${who}.jsonl`);
  writeFileSync(log, '');
  chmodSync(log, 0o666);
  // Vitest's own account of each test, so that a failed run names what failed
  const report = join(logs, `${who}-vitest.json`);
  const env = { ...process.env, ...settings, MAYFLY_RELIABILITY_LOG: log };
  const reporters = ['--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
  // one file at a time: load figures and kill timings mean little while other files compete for the 2 cores
  const args = who === 'root' || process.getuid() !== 0
    ? [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--fileParallelism=false', ...reporters, ...files]
    : [join(root, 'test/support/run-as-unprivileged.mjs'), '--fileParallelism=false', ...reporters, ...files];
  // the machine is shared: the 1-minute load average, sampled through the run, says how busy it was
  const load = [loadavg()[0]];
  const sampler = setInterval(() => load.push(loadavg()[0]), 30_000);
  const started = Date.now();
  const status = await new Promise((done) => {
    spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] }).on('close', (code) => done(code));
  });
  clearInterval(sampler);
  load.push(loadavg()[0]);
  const entries = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const tests = existsSync(report) ? JSON.parse(readFileSync(report, 'utf8')) : undefined;
  const failed = (tests?.testResults ?? []).flatMap((f) => {
    const file = f.name.replace(/^.*?\/test\//, 'test/');
    const cases = f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${file}: ${a.fullName}`);
    // a file that failed outside its tests (a hook, an import)
    return cases.length || f.status !== 'failed' ? cases : [`${file}: ${f.message.split('\n')[0]}`];
  });
  return {
    who,
    passed: status === 0,
    minutes: (Date.now() - started) / 60000,
    entries,
    tests: tests && { passed: tests.numPassedTests, failed: tests.numFailedTests, skipped: tests.numPendingTests + tests.numTodoTests },
    failed,
    load: { min: Math.min(...load), mean: load.reduce((a, b) => a + b, 0) / load.length, max: Math.max(...load) },
  };
}

/** Runs both users (or this one), keeping the raw results so that the table can be written again (`--report-from FILE`). */
async function runAll() {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const results = [await run(process.getuid() === 0 ? 'root' : 'user')];
  if (process.getuid() === 0) results.push(await run('mfuser'));
  rmSync(logs, { recursive: true, force: true });
  const raw = join(tmpdir(), 'mayfly-reliability-last.json');
  writeFileSync(raw, JSON.stringify({ date: new Date().toISOString(), results }));
  console.log(`raw results: ${raw}`);
  return { date: new Date().toISOString(), results };
}

const from = process.argv.indexOf('--report-from');
const { date, results } = from > 0 ? JSON.parse(readFileSync(process.argv[from + 1], 'utf8')) : await runAll();
if (from > 0) rmSync(logs, { recursive: true, force: true });

const count = (es, kind) => es.filter((e) => e.kind === kind);
const sum = (es) => es.reduce((n, e) => n + (e.value ?? 1), 0);
const groupBy = (es, key) => Object.entries(es.reduce((m, e) => ((m[key(e)] = (m[key(e)] ?? 0) + (e.value ?? 1)), m), {}));
const fmt = (n, d = 1) => (Math.abs(n) < 0.05 ? '0' : n.toFixed(d));

const lines = [
  '# Reliability and security figures',
  '',
  `\`npm run reliability\`, ${date.slice(0, 10)}, on ${process.arch} Linux ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}, Node ${process.version}.`,
  `Settings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(', ')}. Test files run one at a time, on ${availableParallelism()} cores shared with whatever else the machine ran (the load row).`,
  '',
  '| | ' + results.map((r) => r.who).join(' | ') + ' |',
  '|---|' + results.map(() => '---:').join('|') + '|',
  `| suite passed | ${results.map((r) => (r.passed ? 'yes' : '**no**')).join(' | ')} |`,
  `| tests passed / failed / skipped | ${results.map((r) => (r.tests ? `${r.tests.passed} / ${r.tests.failed} / ${r.tests.skipped}` : '?')).join(' | ')} |`,
  `| minutes | ${results.map((r) => fmt(r.minutes)).join(' | ')} |`,
  `| load average (1 min) through the run: min / mean / max | ${results.map((r) => `${fmt(r.load.min)} / ${fmt(r.load.mean)} / ${fmt(r.load.max)}`).join(' | ')} |`,
  `| escape attempts blocked | ${results.map((r) => sum(count(r.entries, 'blocked'))).join(' | ')} |`,
  `| escape attempts skipped (see below) | ${results.map((r) => sum(count(r.entries, 'skipped'))).join(' | ')} |`,
  // a kill point the process had already passed (it ended on its own) killed nothing: not counted as survived
  `| SIGKILLs survived | ${results.map((r) => sum(count(r.entries, 'kill').filter((e) => !e.what.includes('nothing to kill')))).join(' | ')} |`,
  `| kill points reached after the victim had ended (nothing killed) | ${results.map((r) => sum(count(r.entries, 'kill').filter((e) => e.what.includes('nothing to kill')))).join(' | ')} |`,
  `| faults injected (registry, disk) | ${results.map((r) => sum(count(r.entries, 'fault'))).join(' | ')} |`,
  `| bad inputs tried | ${results.map((r) => sum(count(r.entries, 'inputs'))).join(' | ')} |`,
  `| leftovers found (must be 0) | ${results.map((r) => sum(count(r.entries, 'leftover'))).join(' | ')} |`,
];
for (const r of results.filter((r) => r.failed.length)) {
  lines.push('', `## Failed, ${r.who}`, '', ...r.failed.map((f) => `- ${f}`));
}
for (const r of results) {
  const cycles = count(r.entries, 'figure').find((e) => e.what === 'start/remove cycles');
  if (cycles) {
    lines.push(
      '',
      `## Leak slopes, ${r.who}: ${cycles.cycles} start/remove cycles in one runtime (${fmt(cycles.seconds, 0)} s)`,
      '',
      '| sandbox | first (after warm-up) | last | slope per 1,000 cycles |',
      '|---|---:|---:|---:|',
      `| open descriptors | ${cycles.fds[0]} | ${cycles.fds[1]} | ${fmt(cycles.fdsPer1000, 2)} |`,
      `| threads | ${cycles.threads[0]} | ${cycles.threads[1]} | ${fmt(cycles.threadsPer1000, 2)} |`,
      `| RSS after a full garbage collection (MiB) | ${cycles.rssMb[0]} | ${cycles.rssMb[1]} | ${fmt(cycles.rssMbPer1000, 2)} MiB |`,
      ...(cycles.heapMb ? [`| V8 heap in use after it (MiB) | ${cycles.heapMb[0]} | ${cycles.heapMb[1]} | ${fmt(cycles.heapMbPer1000, 2)} MiB |`] : []),
    );
  }
  const figures = count(r.entries, 'figure').filter((e) => e !== cycles);
  if (figures.length) lines.push('', `## Load, ${r.who}`, '', '| case | seconds |', '|---|---:|', ...figures.map((f) => `| ${f.what} | ${fmt(f.seconds)} |`));
  lines.push('', `## What was tried, ${r.who}`, '', '| kind | what | count |', '|---|---|---:|');
  for (const kind of ['blocked', 'skipped', 'kill', 'fault']) {
    const es = count(r.entries, kind);
    const keyed = kind === 'kill' ? (e) => e.what.replace(/ after \d+ ms.*$/, '') + (e.what.includes('nothing to kill') ? ' (had ended: nothing killed)' : '') : (e) => e.what;
    for (const [what, n] of groupBy(es, keyed)) lines.push(`| ${kind} | ${what.replaceAll('|', '\\|')} | ${n} |`);
  }
}
const out = join(root, 'bench/results/reliability.md');
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`\nwrote ${out}`);
process.exit(results.every((r) => r.passed) ? 0 : 1);
