// Readiness checks and timing shared by the scenarios. Every system is polled the same way: the
// check itself, then 10 ms, until it succeeds (Testcontainers uses its own wait strategies).
import { spawn } from 'node:child_process';
import pg from 'pg';
import { connect } from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

const POLL_MS = 10;
const DEADLINE_MS = 120_000;

/** Until GET `url` answers 200. */
export async function waitHttp(url) {
  const deadline = Date.now() + DEADLINE_MS;
  let last;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    await sleep(POLL_MS);
  }
  throw new Error(`${url}: no 200 within ${DEADLINE_MS} ms (last: ${last})`);
}

export const PG_PASSWORD = 'bench';

/** One connection and `SELECT 1`; true when it worked. */
export async function pgQuery(port) {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PG_PASSWORD, database: 'postgres', connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query('SELECT 1 AS one');
    return r.rows[0]?.one === 1;
  } catch {
    return false;
  } finally {
    client.end().catch(() => {});
  }
}

/** Until a query on 127.0.0.1:`port` succeeds. */
export async function waitQuery(port) {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    if (await pgQuery(port)) return;
    await sleep(POLL_MS);
  }
  throw new Error(`postgres on port ${port}: no successful query within ${DEADLINE_MS} ms`);
}

/** One connection and a RESP `PING`; true when `+PONG` came back. */
function redisPing(port) {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' }, () => s.write('PING\r\n'));
    let got = '';
    const done = (ok) => (s.destroy(), resolve(ok));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
    s.on('error', () => done(false));
    s.setTimeout(2000, () => done(false));
  });
}

/** Until redis on 127.0.0.1:`port` answers PING. */
export async function waitPing(port) {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    if (await redisPing(port)) return;
    await sleep(POLL_MS);
  }
  throw new Error(`redis on port ${port}: no PONG within ${DEADLINE_MS} ms`);
}

/** Spawns a program; resolves when it exits 0. */
/**
 * @param {string} file
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} [opts]
 * @returns {Promise<void>}
 */
export function runProgram(file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let err = '';
    p.stderr?.on('data', (d) => (err = (err + d).slice(-2000)));
    p.once('error', reject);
    p.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} exited ${signal ?? code}: ${err.trim()}`))));
  });
}

/**
 * `n` measured iterations after `warmup` unmeasured ones, `gapMs` apart (a test suite starts
 * containers now and then, not in a tight loop). `fn` returns the durations it measured, by name.
 */
export async function iterate(n, warmup, gapMs, fn) {
  const out = {};
  for (let i = 0; i < warmup + n; i++) {
    if (gapMs) await sleep(gapMs);
    const r = await fn(i);
    if (i < warmup) continue;
    for (const [k, v] of Object.entries(r)) (out[k] ??= []).push(v);
  }
  return out;
}
