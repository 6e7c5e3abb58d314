// The bench's side of tc-worker.mjs: one Testcontainers user's process per Docker endpoint, started
// with that endpoint's environment, asked to run the scenarios' Testcontainers code and to report
// its timings.
import { fork } from 'node:child_process';
import { join } from 'node:path';

/**
 * @param {Record<string, string>} env what differs from the bench's environment: DOCKER_HOST and
 *   the TESTCONTAINERS_* settings
 */
export async function startTcWorker(env) {
  const base = { ...process.env };
  // the bench's own process may have set these for its in-process Testcontainers: each worker has its own
  for (const k of Object.keys(base)) if (k === 'DOCKER_HOST' || k.startsWith('TESTCONTAINERS_')) delete base[k];
  const child = fork(join(import.meta.dirname, 'tc-worker.mjs'), [], { env: { ...base, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const pending = new Map();
  let next = 0;
  let exited = false;
  const ready = new Promise((resolve, reject) => {
    child.on('message', (/** @type {any} */ m) => {
      if (m.ready) return resolve(undefined);
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    });
    child.once('exit', (code, signal) => {
      exited = true;
      const e = new Error(`the Testcontainers worker exited (${signal ?? code})`);
      reject(e);
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
  });
  await ready;
  return {
    pid: child.pid,
    /** @returns {Promise<any>} */
    call(op, args = {}) {
      if (exited) return Promise.reject(new Error('the Testcontainers worker has exited'));
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, op, ...args });
      });
    },
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.send({ op: 'exit' });
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}
