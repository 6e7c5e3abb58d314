/**
 * One sandbox for every Runtime of a MAYFLY_HOME that would start an identical one (a test run's
 * workers): the first starts it detached, serving a socket in its run directory; a pointer
 * `<home>/shared-sandboxes/<key>.sock` (a symlink, swapped atomically) names the live one. The key
 * is a hash of everything the sandbox reads at start (user, id maps, start limits, MAYFLY_*
 * settings, the Node binary and mayfly build), so differently configured runtimes never share.
 * A flock on `<key>.lock` makes two workers starting at once end up with one sandbox; a pointer
 * that refuses connections (a killed sandbox) or dangles is replaced under that lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { distFile, mayflyHome } from '../core/paths.js';
import { withFileLock } from '../sys/locks.js';
import { prepareDelegatedCgroup } from './cgroups/index.js';
import { hostIdMapping, idMapBlocked, type IdMapping } from './idmap.js';
import { findStartLimits } from './start-limits.js';
import { childPid } from './process-tree.js';
import { SandboxClient, sandboxInfo, spawnSandbox, type SandboxChannel } from './sandbox-client.js';
import type { SandboxEvent, SandboxMessage } from './sandbox/protocol.js';
import { readMessages, writeMessage } from './sandbox/wire.js';

type Ready = Extract<SandboxEvent, { event: 'ready' }>;

const HELLO_TIMEOUT_MS = 15_000;
/** a unix socket's path must fit sun_path (108 bytes with its NUL) */
const MAX_SOCKET_PATH = 100;
/** settings outside MAYFLY_* that the sandbox (or a pull in it) reads */
const OTHER_SETTINGS = ['PATH', 'HOME', 'TMPDIR', 'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS', 'XDG_CONFIG_HOME', 'DOCKER_CONFIG', 'REGISTRY_AUTH_FILE'];

/**
 * MAYFLY_* variables the sandbox does not read: this choice itself, debugging, and what the test
 * runner integrations hand their workers (Jest's globalSetup sets MAYFLY_JEST_SHARED after its own
 * runtime started: counted, its workers would not find the sandbox of the main process).
 */
const NOT_SANDBOX_SETTINGS = /^MAYFLY_(SHARED_SANDBOX$|DEBUG$|JEST_|VITEST_)/;

/** Whether to share when the caller did not say: MAYFLY_SHARED_SANDBOX=1 or 0, else `otherwise` (Runtime.start: no; the test harness: yes). */
export function sharedByDefault(otherwise = false): boolean {
  const v = process.env.MAYFLY_SHARED_SANDBOX;
  return v === '1' ? true : v === '0' ? false : otherwise;
}

function sharedKey(home: string, idMapping: IdMapping, limits: unknown): string {
  const main = distFile('runtime/sandbox/main.js');
  const env = Object.entries(process.env)
    .filter(([k]) => (k.startsWith('MAYFLY_') && !NOT_SANDBOX_SETTINGS.test(k)) || OTHER_SETTINGS.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const what = { home, uid: process.getuid?.(), gid: process.getgid?.(), node: process.execPath, main, built: statSync(main).mtimeMs, idMapping, limits, env };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

/** Connects and waits for the sandbox's `ready`; undefined when nobody serves there (no pointer, a dead sandbox's, one shutting down). */
function connectTo(path: string): Promise<{ socket: Socket; ready: Ready; next: (l: (m: SandboxMessage) => void) => void } | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ path, allowHalfOpen: true });
    let listener: ((m: SandboxMessage) => void) | undefined;
    // what comes after `ready` before the client listens (a warning to every peer) is kept for it
    let early: SandboxMessage[] | undefined;
    const fail = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    };
    const timer = setTimeout(fail, HELLO_TIMEOUT_MS);
    socket.once('error', fail);
    socket.once('close', fail);
    readMessages(socket, (m) => {
      if (listener) return listener(m as SandboxMessage);
      if (early) return void early.push(m as SandboxMessage);
      const r = m as SandboxMessage;
      if (!('event' in r) || r.event !== 'ready') return;
      clearTimeout(timer);
      socket.off('error', fail);
      socket.off('close', fail);
      socket.on('error', () => socket.destroy());
      // the sandbox ended its side (it died, or finished our close): the connection is over
      socket.once('end', () => socket.destroy());
      early = [];
      resolve({
        socket,
        ready: r,
        next: (l) => {
          listener = l;
          for (const m of early!.splice(0)) l(m);
        },
      });
    });
  });
}

function socketChannel(c: NonNullable<Awaited<ReturnType<typeof connectTo>>>): SandboxChannel {
  const { socket } = c;
  const pidFile = join(c.ready.runDir, 'host-pid');
  return {
    shared: true,
    send: (m) => {
      if (!writeMessage(socket, m) && !socket.writable) socket.destroy();
    },
    onMessage: (l) => c.next(l),
    onGone: (l) => socket.once('close', l),
    hold: (busy) => (busy ? socket.ref() : socket.unref()),
    // half-close: the sandbox removes our containers, then closes its side
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.end();
      }),
    processId() {
      try {
        return Number(readFileSync(pidFile, 'utf8'));
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * A client of the home's shared sandbox for these settings, starting it if none serves. Falls back
 * to a sandbox of this process's own where the socket's path would be too long.
 */
export async function attachShared(opts: { home?: string } = {}): Promise<SandboxClient> {
  const home = opts.home ?? mayflyHome();
  const dir = join(home, 'shared-sandboxes');
  // a key is 16 hex digits: the home alone says whether its socket's path fits
  if (Buffer.byteLength(join(dir, `${'0'.repeat(16)}.sock`)) > MAX_SOCKET_PATH) return SandboxClient.boot(opts);
  const idMapping = hostIdMapping();
  if (idMapping.limited?.blocked) throw idMapBlocked(idMapping);
  const [start] = await Promise.all([findStartLimits(), prepareDelegatedCgroup()]);
  const key = sharedKey(home, idMapping, start.limits);
  const pointer = join(dir, `${key}.sock`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const c =
    (await connectTo(pointer)) ??
    (await withFileLock(join(dir, `${key}.lock`), async () => {
      // another worker may have started it while we waited for the lock
      const again = await connectTo(pointer);
      if (again) return again;
      const id = randomBytes(8).toString('hex');
      const log = join(dir, `${key}.log`);
      const fd = openSync(log, 'w', 0o600);
      try {
        const { child, ready } = await spawnSandbox({
          home,
          id,
          idMapping,
          start,
          env: { MAYFLY_SANDBOX_SHARED: '1', MAYFLY_SANDBOX_POINTER: pointer },
          stderrFd: fd,
          readStderr: () => readFileSync(log, 'utf8').slice(-4000),
        });
        const hostPid = childPid(child.pid!);
        writeFileSync(join(ready.runDir, 'host-pid'), String(hostPid ?? ''));
        // it lives on its own from here: this process may end before it (SIGKILL included)
        child.disconnect();
        child.stdin?.destroy();
        child.unref();
        const tmp = `${pointer}.${id}.tmp`;
        rmSync(tmp, { force: true });
        symlinkSync(join(ready.runDir, 'api.sock'), tmp);
        renameSync(tmp, pointer);
        const mine = await connectTo(pointer);
        if (!mine) throw new Error('the shared sandbox it started did not answer on its socket');
        // the log served to explain a failed start; it keeps the file open (MAYFLY_DEBUG output) either way
        if (!process.env.MAYFLY_DEBUG) rmSync(log, { force: true });
        return mine;
      } finally {
        closeSync(fd);
      }
    }));
  return new SandboxClient(socketChannel(c), home, c.ready.sandboxId!, sandboxInfo(c.ready, idMapping, start));
}
