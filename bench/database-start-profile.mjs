// Where a database preset's warm start (from its initialised-data snapshot) spends its time:
// mayfly's own steps (snapshot lookup and check, create, start, the readiness probe) timed around
// the engine's calls, and the server's own start taken from its log lines, stamped as they arrive.
//
//   npm run build && node bench/database-start-profile.mjs [postgres|mysql …]     (ITER=20)
//
// Uses the bench's registry and look-alike images (built once per machine, then cached); a private
// MAYFLY_HOME in a scratch directory, removed at the end. Prints one table per preset.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from './peers/registry.mjs';
import { prepareImages } from './peers/images.mjs';

const kinds = process.argv.slice(2).length ? process.argv.slice(2) : ['postgres', 'mysql'];
const N = Number(process.env.ITER ?? 20);
const work = mkdtempSync('/var/tmp/mayfly-db-profile-');
process.env.MAYFLY_HOME = join(work, 'home');
const { Runtime } = await import('../dist/engine/runtime.js');
const { SnapshotService } = await import('../dist/engine/snapshots.js');
const { Container } = await import('../dist/runtime/container.js');
const { QueryWait } = await import('../dist/presets/query-wait.js');
const { presets } = await import('../dist/index.js');
const { PgConnection } = await import('../dist/presets/postgres-wire.js');
const { MysqlConnection } = await import('../dist/presets/mysql-wire.js');

/** one start's marks, by name, in ms since the start began */
let marks;
let t0 = 0;
const mark = (name) => {
  if (marks && !(name in marks)) marks[name] = performance.now() - t0;
};
function timed(proto, method, name) {
  const orig = proto[method];
  proto[method] = async function (...args) {
    mark(`${name}:begin`);
    try {
      return await orig.apply(this, args);
    } finally {
      mark(`${name}:end`);
    }
  };
}
timed(SnapshotService.prototype, 'lookup', 'lookup');
timed(SnapshotService.prototype, 'verify', 'verify');
timed(Runtime.prototype, 'create', 'create');
timed(Container.prototype, 'start', 'start');
timed(QueryWait.prototype, 'wait', 'ready');

const registry = await startRegistry(join(work, 'registry'));
const rt = await Runtime.start({ onWarning: () => {} });
/**
 * STRACE=DIR: one more warm start with strace following the sandbox's threads (and so the
 * container's processes it clones), written to DIR/KIND.strace.
 */
async function straced(kind, start) {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { spawn } = await import('node:child_process');
  const home = `MAYFLY_HOME=${process.env.MAYFLY_HOME}`;
  // the Node process itself (its most threads), not the unshare/setpriv wrapping it
  const sandbox = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('sandbox/main.js') && readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(home);
    } catch {
      return false;
    }
  }).sort((a, b) => readdirSync(`/proc/${b}/task`).length - readdirSync(`/proc/${a}/task`).length)[0];
  if (!sandbox) throw new Error('no sandbox process found');
  const tids = readdirSync(`/proc/${sandbox}/task`);
  const out = join(process.env.STRACE, `${kind}.strace`);
  const st = spawn('strace', ['-f', '-tt', '-T', '-o', out, ...tids.flatMap((t) => ['-p', t])], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500));
  const t = Date.now();
  const db = await start();
  console.log(`${kind} straced start: ${Date.now() - t} ms, began ${new Date(t).toISOString()}`);
  await db.remove();
  st.kill('SIGINT');
  await new Promise((r) => st.once('exit', r));
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
try {
  prepareImages(join(import.meta.dirname, '..'), registry.host, join(work, 'images'));
  const images = { postgres: `${registry.host}/library/postgres`, mysql: `${registry.host}/library/mysql` };
  for (const kind of kinds) {
    // PG_CONFIG / MY_CONFIG: server settings to try (JSON, the presets' `config`)
    const config = JSON.parse((kind === 'postgres' ? process.env.PG_CONFIG : process.env.MY_CONFIG) ?? '{}');
    const start = () => (kind === 'postgres' ? presets.postgres({ image: images.postgres, tag: 'latest', config }, { runtime: rt }) : presets.mysql({ image: images.mysql, tag: '8.4', config }, { runtime: rt }));
    // the first start makes the snapshot
    await (await start()).remove();
    if (process.env.STRACE) await straced(kind, start);
    const rows = [];
    for (let i = 0; i < N; i++) {
      await new Promise((r) => setTimeout(r, 150));
      marks = {};
      const wall0 = Date.now();
      t0 = performance.now();
      const db = await start();
      const total = performance.now() - t0;
      marks.total = total;
      // a second login and query once ready (a duration, not a mark): what the probe's last attempt costs a warm server
      const again = performance.now();
      const conn = await (kind === 'postgres' ? PgConnection : MysqlConnection).connect({ host: db.host, port: db.mappedPort, user: db.user, password: db.password, database: db.database, timeoutMs: 2000 });
      await conn.query('select 1');
      await conn.close();
      const secondMs = performance.now() - again;
      // the server's lines, as stamped by the sandbox when they arrived (ms since the start began)
      const logs = await db.container.logs();
      for (const l of logs) {
        // the line without the server's own (second-resolution) stamp, so that starts compare
        const text = l.line.replace(/^\d{4}-\d\d-\d\d[ T]+[\d:.]+( [A-Z]{3,4})?( \[\d+\])?( \d+)?:?\s*/, '').slice(0, 80);
        const k = `log: ${text}`;
        if (!(k in marks)) marks[k] = Date.parse(l.time) - wall0;
      }
      marks = Object.fromEntries(Object.entries(marks).sort((a, b) => a[1] - b[1]));
      marks['(duration) a second login + query after ready'] = secondMs;
      rows.push(marks);
      marks = undefined;
      await db.remove();
    }
    const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const byMedian = names.map((n) => [n, median(rows.filter((r) => n in r).map((r) => r[n])), rows.filter((r) => n in r).length]).sort((a, b) => a[1] - b[1]);
    console.log(`\n### ${kind}${Object.keys(config).length ? ` with ${JSON.stringify(config)}` : ''}: warm start, ${N} starts, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
    console.log('| mark (ms since start() was called) | median | n |\n|---|---:|---:|');
    for (const [n, m, c] of byMedian) console.log(`| ${n.replace(/\|/g, '\\|')} | ${m.toFixed(1)} | ${c} |`);
  }
} finally {
  await rt.close();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
