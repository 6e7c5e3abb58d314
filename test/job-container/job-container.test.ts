/**
 * mayfly inside a CI job's container (issue 17): rootful podman stands for the CI's engine and runs
 * a Debian job image (job-image.ts) with mayfly's checkout and Node bind-mounted in, as a CI job
 * would — with podman's defaults (its seccomp profile and capability set, a masked /proc, no
 * /dev/fuse, no /dev/net/tun, an overlay root), then with the variants CI uses and with each
 * setting that lifts a limit. Inside, a representative part of mayfly's own suite runs (as root and
 * as an unprivileged user), or smoke.mjs: doctor, `mayfly run`, a published port, an image whose
 * files belong to another user. Where the kernel forbids something, doctor and the error must name
 * the setting, and nothing may end in a stack trace. README "Running in CI" is this file's matrix.
 *
 * Needs root (rootful podman); scripts/test-job-container runs it after the main suite.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podman } from '../../bench/peers/podman.mjs';
import { Runtime } from '../../src/engine/runtime.js';
import { busyboxRootfs } from '../../src/runtime/busybox-rootfs.js';
import { TEST_CACHE } from '../support/debian-base.js';
import { writeDockerLikeSeccomp } from './docker-like-seccomp.js';
import { jobImage, JOB_PODMAN_DIR } from './job-image.js';

const REPO = resolve(import.meta.dirname, '../..');
const USER_UID = 1700;

interface Finding {
  name: string;
  level: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}
interface Smoke {
  uid: number;
  doctor: { code: number; findings?: Finding[]; stderr: string };
  cli: { code: number; stdout: string; stderr: string };
  published?: { body: string; ms: number };
  outbound?: { exitCode: number; body: string };
  load?: { exitCode: number; owner: string };
  warnings: string[];
  error?: { message: string; code?: string; hint?: string; stack?: string };
}

let job: { image: string; env: NodeJS.ProcessEnv };
const scratch: string[] = [];

beforeAll(async () => {
  job = await jobImage((line) => process.stderr.write(`[job-container] ${line}\n`));
}, 1_200_000);

afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A directory of the host for a job's volume (work dir, MAYFLY_HOME), removed after the run. */
function hostDir(): string {
  const d = mkdtempSync(join(JOB_PODMAN_DIR, '..', 'volume-'));
  scratch.push(d);
  return d;
}

/**
 * A small image archive whose /data belongs to uid 999 (as postgres's or redis's data dirs do),
 * saved by mayfly on the host; the job sees it at /owned/owned.tar.
 */
async function ownedByAnotherUser(): Promise<string> {
  const dir = hostDir();
  chmodSync(dir, 0o755);
  const rootfs = busyboxRootfs(join(dir, 'rootfs'));
  mkdirSync(join(rootfs, 'data'));
  writeFileSync(join(rootfs, 'data', 'file'), 'theirs\n');
  for (const p of ['data', 'data/file']) chownSync(join(rootfs, p), 999, 999);
  const rt = await Runtime.start({ home: join(dir, 'home'), onWarning: () => {} });
  try {
    await rt.importRootfs(rootfs, 'mayfly-test/owned:1');
    await rt.save('mayfly-test/owned:1', join(dir, 'owned.tar'));
  } finally {
    await rt.close();
  }
  chmodSync(join(dir, 'owned.tar'), 0o644);
  return dir;
}

/** Runs `script` (sh) in a fresh job container with podman's defaults plus `flags`; resolves with its exit code and output. */
function inJob(flags: string[], script: string, timeoutMs = 600_000): Promise<{ code: number; output: string }> {
  const name = `mayfly-job-${randomBytes(4).toString('hex')}`;
  const args = [
    'run', '--rm', '--name', name, ...flags,
    '-v', `${REPO}:/mayfly:ro`, '-v', `${process.execPath}:/usr/local/bin/node:ro`, '-v', `${TEST_CACHE}:${TEST_CACHE}:ro`,
    '-e', 'CI=1', '-e', 'NO_COLOR=1', '-w', '/mayfly', job.image, 'sh', '-c', script,
  ];
  return new Promise((resolve, reject) => {
    const p = spawn('podman', args, { env: job.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => void podman(['kill', name], job.env, { allowFailure: true }), timeoutMs);
    p.once('error', reject);
    p.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

/** smoke.mjs in a job container, as root or (`user`) as an unprivileged user made there. */
async function smoke(flags: string[], opts: { asUser?: 'with-range' | 'no-range'; archive?: boolean; prelude?: string; doctorOnly?: boolean } = {}): Promise<Smoke> {
  if (opts.archive) flags = [...flags, '-v', `${await ownedByAnotherUser()}:/owned:ro`];
  const node = `node test/job-container/smoke.mjs ${opts.doctorOnly ? '--doctor-only' : ''} ${opts.archive ? '/owned/owned.tar' : ''}`;
  let script = `${opts.prelude ?? ''}\n${node}`;
  if (opts.asUser) {
    script = `${opts.prelude ?? ''}
useradd -m -u ${USER_UID} mfuser
${opts.asUser === 'no-range' ? "sed -i '/^mfuser:/d' /etc/subuid /etc/subgid" : ''}
cd /tmp && setpriv --reuid mfuser --regid mfuser --init-groups env HOME=/home/mfuser PATH="$PATH" sh -c 'cd /mayfly && ${node}'`;
  }
  const { code, output } = await inJob(flags, script, 300_000);
  const line = output.split('\n').find((l) => l.startsWith('SMOKE '));
  if (!line) throw new Error(`smoke.mjs printed no result (exit ${code}):\n${output.slice(-4000)}`);
  return JSON.parse(line.slice(6)) as Smoke;
}

const finding = (s: Smoke, name: string) => s.doctor.findings?.find((f) => f.name === name);
const STACK = /\n\s+at [^\n]+:\d+:\d+/;

/** Nothing a user sees may be a stack trace. */
function noStackTrace(s: Smoke): void {
  expect(s.doctor.stderr).not.toMatch(STACK);
  expect(s.cli.stderr).not.toMatch(STACK);
  expect(s.error?.stack).toBeUndefined();
}

/** The suite files run inside, and the runs that need more time than a smoke. */
const SUITE_AS_ROOT = ['test/runtime/lifecycle.test.ts', 'test/runtime/cleanup.test.ts', 'test/network/ports.test.ts', 'test/network/networks.test.ts', 'test/harness/wait.test.ts', 'test/presets/redis.test.ts', 'test/integrations/vitest.test.ts'];
// one nested Vitest run of the integration's six (the others repeat it with another pool or an abort)
const SKIP_NESTED = "--testNamePattern='^(?!.*(threads pool|one shard of two|three scopes|container per test|killed with SIGKILL|Ctrl-C)).*'";
// an unprivileged user in a job container gets one id (newuidmap needs CAP_SYS_ADMIN): presets switch users and cannot run there
const SUITE_AS_USER = ['test/runtime/lifecycle.test.ts', 'test/network/ports.test.ts', 'test/harness/wait.test.ts'];

function expectSuitePassed(run: { code: number; output: string }): void {
  if (run.code !== 0) throw new Error(`the suite failed in the job container (exit ${run.code}):\n${run.output.slice(-6000)}`);
  // the unprivileged run starts Vitest with a clean environment: NO_COLOR does not reach it
  const plain = run.output.replace(/\x1b\[[0-9;]*m/g, '');
  expect(plain).toMatch(/Test Files\s+\d+ passed/);
  expect(plain).not.toMatch(/Test Files\s+.*failed/);
}

describe('in a job container with podman\'s defaults', () => {
  it('as root: doctor lists what works, what degrades and the setting for each; run and published ports work', async () => {
    const s = await smoke([]);
    noStackTrace(s);
    expect(s.doctor.code).toBe(0);
    expect(finding(s, 'job container')?.detail).toContain('podman container');
    expect(finding(s, 'sandbox')?.level).toBe('ok');
    expect(finding(s, '/proc')).toMatchObject({ level: 'warn', fix: expect.stringContaining('unmask=ALL') });
    expect(finding(s, 'root filesystem')).toMatchObject({ level: 'warn', detail: expect.stringContaining('tmpfs'), fix: expect.stringContaining('MAYFLY_HOME') });
    expect(finding(s, 'start step "set hostname"')).toMatchObject({ level: 'warn', fix: expect.stringContaining('sethostname') });
    expect(finding(s, 'start step "mount /sys"')).toMatchObject({ level: 'warn', fix: expect.stringContaining('unmask=ALL') });
    expect(finding(s, 'outbound access')).toMatchObject({ level: 'warn', fix: '--device /dev/net/tun' });
    expect(finding(s, 'id mapping')?.level).toBe('ok');
    expect(finding(s, 'container start')?.level).toBe('ok');
    expect(s.cli.code).toBe(0);
    expect(s.cli.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    expect(s.published?.body).toBe('published');
  }, 300_000);

  it('as root: runtime (clean-up after kill -9 included), networks and published ports, waits, a preset and the Vitest integration pass', async () => {
    expectSuitePassed(await inJob([], `node node_modules/vitest/vitest.mjs run --root /mayfly --configLoader runner ${SKIP_NESTED} ${SUITE_AS_ROOT.join(' ')}`));
  }, 900_000);

  it('as an unprivileged user with a subordinate range: one id is mapped (newuidmap needs CAP_SYS_ADMIN), said with the setting', async () => {
    const s = await smoke([], { asUser: 'with-range' });
    noStackTrace(s);
    expect(s.uid).toBe(USER_UID);
    expect(finding(s, 'id mapping')).toMatchObject({ level: 'warn', detail: expect.stringContaining('CAP_SYS_ADMIN'), fix: expect.stringContaining('SYS_ADMIN') });
    expect(s.cli.code).toBe(0);
    expect(s.published?.body).toBe('published');
    expect(s.warnings.join('\n')).toContain('only one user id is mapped');
  }, 300_000);

  it('as an unprivileged user: runtime, published ports, waits pass', async () => {
    const run = await inJob([], `node test/support/run-as-unprivileged.mjs ${SUITE_AS_USER.join(' ')}`);
    expectSuitePassed(run);
    expect(run.output).toContain('run-as-unprivileged: the suite again as mfuser');
  }, 900_000);
});

describe('the variants CI uses', () => {
  it('an unprivileged user without subordinate ids: one id, images with files of other owners still run', async () => {
    const s = await smoke([], { asUser: 'no-range', archive: true });
    noStackTrace(s);
    expect(finding(s, 'id mapping')).toMatchObject({ level: 'warn', detail: expect.stringContaining('no range for mfuser') });
    expect(s.cli.code).toBe(0);
    expect(s.published?.body).toBe('published');
    expect(s.load).toEqual({ exitCode: 0, owner: '0' });
    expect(s.warnings.join('\n')).toMatch(/chown/);
  }, 300_000);

  it('--cap-drop ALL as root: the kernel refuses root a user namespace map without CAP_SETFCAP; doctor and the error say what to change', async () => {
    const s = await smoke(['--cap-drop', 'ALL']);
    noStackTrace(s);
    expect(s.doctor.code).toBe(1);
    expect(finding(s, 'id mapping')).toMatchObject({ level: 'fail', fix: expect.stringMatching(/--user 1000.*SETFCAP/) });
    expect(finding(s, 'sandbox')).toMatchObject({ level: 'fail', fix: expect.stringContaining('SETFCAP') });
    expect(s.cli.code).not.toBe(0);
    expect(s.cli.stderr).toContain('CAP_SETFCAP');
    expect(s.cli.stderr).toContain('--cap-add SETFCAP');
  }, 300_000);

  it('--cap-drop ALL as a non-root user (--user): works with one id mapped', async () => {
    const s = await smoke(['--cap-drop', 'ALL', '--user', `${USER_UID}:${USER_UID}`, '-e', 'HOME=/tmp']);
    noStackTrace(s);
    expect(finding(s, 'sandbox')?.level).toBe('ok');
    expect(finding(s, 'id mapping')?.level).toBe('warn');
    expect(s.cli.code).toBe(0);
    expect(s.published?.body).toBe('published');
  }, 300_000);

  it('a seccomp profile like Docker\'s and containerd\'s default (no user namespaces without CAP_SYS_ADMIN): doctor and the error name the seccomp setting', async () => {
    const profile = writeDockerLikeSeccomp(hostDir());
    const s = await smoke(['--security-opt', `seccomp=${profile}`]);
    noStackTrace(s);
    expect(s.doctor.code).toBe(1);
    expect(finding(s, 'sandbox')).toMatchObject({ level: 'fail', detail: expect.stringContaining('Operation not permitted'), fix: expect.stringContaining('seccomp') });
    expect(s.cli.code).not.toBe(0);
    expect(s.cli.stderr).toContain('refuses user namespaces');
    expect(s.cli.stderr).toContain('seccomp=');
  }, 300_000);

  it('a read-only root with a writable work dir: HOME on the root is refused with the fix; HOME in the work dir works (kernel overlayfs there)', async () => {
    const work = hostDir();
    const flags = ['--read-only', '--read-only-tmpfs=false', '-v', `${work}:/work`, '-e', 'HOME=/work/home', '-e', 'TMPDIR=/work/tmp'];
    const refused = await inJob(flags, 'mkdir -p /work/tmp && HOME=/root node bin/mayfly.js run --rm --rootfs /mayfly/test -- true');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('MAYFLY_HOME (/root/.cache/mayfly) cannot be used: /root is not writable (EROFS)');
    expect(refused.output).toContain('point MAYFLY_HOME at a writable directory');
    expect(refused.output).not.toMatch(STACK);
    const s = await smoke(flags, { prelude: 'mkdir -p /work/home /work/tmp' });
    noStackTrace(s);
    expect(finding(s, 'root filesystem')?.level).toBe('ok');
    expect(s.cli.code).toBe(0);
    expect(s.published?.body).toBe('published');
  }, 300_000);
});

describe('the one setting that lifts each limit', () => {
  it('--security-opt unmask=ALL: a fresh /proc and /sys for each container', async () => {
    const s = await smoke(['--security-opt', 'unmask=ALL'], { doctorOnly: true });
    expect(finding(s, '/proc')?.level).toBe('ok');
    expect(finding(s, 'start step "mount /sys"')).toBeUndefined();
    expect(finding(s, 'sandbox')?.detail).toContain('pid namespace');
  }, 300_000);

  it('--security-opt seccomp=unconfined: the hostname is set', async () => {
    const s = await smoke(['--security-opt', 'seccomp=unconfined'], { doctorOnly: true });
    expect(finding(s, 'container start')?.level).toBe('ok');
    expect(finding(s, 'start step "set hostname"')).toBeUndefined();
  }, 300_000);

  it('--device /dev/net/tun: containers on networks reach the outside', async () => {
    const s = await smoke(['--device', '/dev/net/tun']);
    expect(finding(s, 'outbound access')?.level).toBe('ok');
    expect(s.outbound).toEqual({ exitCode: 0, body: 'from the job' });
  }, 300_000);

  it('MAYFLY_HOME on a volume: kernel overlayfs with the writes on disk', async () => {
    const s = await smoke(['-v', `${hostDir()}:/var/lib/mayfly`, '-e', 'MAYFLY_HOME=/var/lib/mayfly'], { doctorOnly: true });
    expect(finding(s, 'root filesystem')).toMatchObject({ level: 'ok', detail: 'kernel overlayfs inside the user namespace' });
  }, 300_000);
});
