/**
 * The Node executor of a step list (steps.ts): the fallback start path, run by a shim inside fresh
 * mount, pid, ipc and uts namespaces, and by exec's shim. The same operations as the native
 * executor (native/start/steps.c). Only synchronous calls are used: they run on this (main)
 * thread, the one whose root and namespaces change; libuv's pool threads would still see the old.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { readTextIfPresent } from '../../core/files.js';
import type { SyscallError } from '../../sys/libc.js';
import * as mounts from '../../sys/mounts.js';
import * as namespaces from '../../sys/namespaces.js';
import * as proc from '../../sys/process.js';
import * as terminals from '../../sys/terminals.js';
import { resolveUser, type ResolvedUser } from '../user.js';
import { EXIT, SHIM_STDERR_FD } from './plan.js';
import { secureJoin } from './secure-join.js';
import type { Operation, Step } from './steps.js';
import { encode, unflatten } from '../seccomp/bpf.js';

export class StepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** A failure with the exit code Docker would give for it. */
export class ExecFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly step: string,
  ) {
    super(message);
  }
}

interface State {
  user?: ResolvedUser;
  file?: string;
}

/**
 * Runs the steps in order; the exec step ends this process (`announce` is awaited just before it).
 * Throws StepError or ExecFailure naming the step that failed.
 */
export async function runSteps(steps: readonly Step[], announce: () => Promise<void>): Promise<void> {
  const state: State = {};
  for (const s of steps) {
    if (s.op === 'exec') return execStep(s, state, announce);
    try {
      runStep(s, state);
    } catch (e) {
      if (e instanceof ExecFailure) throw new ExecFailure(e.message, e.exitCode, s.step);
      throw new StepError(s.step, e);
    }
  }
}

function runStep(s: Operation, state: State): void {
  switch (s.op) {
    case 'unshare':
      return namespaces.unshare(s.flags);
    case 'loopback-up':
      return namespaces.loopbackUp();
    case 'setns': {
      const fd = openSync(s.path, 'r');
      try {
        return namespaces.setns(fd, s.nstype);
      } finally {
        closeSync(fd);
      }
    }
    case 'write-file':
      return writeFileSync(s.path, s.data);
    case 'mount': {
      const target = s.root ? secureJoin(s.root, s.target) : s.target;
      if (s.create === 'dir') ensureDir(target, s.mode);
      else if (s.create === 'file') ensureFile(target, s.mode);
      mounts.mount(s.source, target, s.fstype, s.flags, s.data);
      // A read-only remount must repeat the flags the kernel locked on the source (nosuid, nodev...).
      if (s.readonly) mounts.mount(null, target, null, mounts.MS.BIND | mounts.MS.REMOUNT | mounts.MS.RDONLY | lockedFlags(target));
      return;
    }
    case 'symlink':
      return symlinkSync(s.to, secureJoin(s.root, s.path));
    case 'pivot-root':
      // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the container's
      mounts.chdir(s.root);
      mounts.pivotRoot('.', '.');
      mounts.umount('.', true);
      return mounts.chdir('/');
    case 'sethostname':
      return namespaces.sethostname(s.name);
    case 'resolve-user':
      state.user = resolveUser(s.spec, readTextIfPresent('/etc/passwd') ?? '', readTextIfPresent('/etc/group') ?? '');
      return;
    case 'mkdir-all':
      return ensureDir(s.path, s.mode);
    case 'mkdir':
      mkdirSync(s.path, { mode: s.mode });
      chmodSync(s.path, s.mode); // what the umask took away
      if (s.uid >= 0) chownSync(s.path, s.uid, s.gid);
      return;
    case 'seed-tmpfs':
      return seedTmpfs(s);
    case 'readonly-path': {
      const target = secureJoin(s.root, s.path);
      if (!kindOf(target)) return;
      mounts.mount(target, target, null, mounts.MS.BIND | mounts.MS.REC);
      return mounts.makeReadonly(target, () => lockedFlags(target));
    }
    case 'mask-path': {
      const target = secureJoin(s.root, s.path);
      const kind = kindOf(target);
      if (kind === 'dir') return mounts.mount('tmpfs', target, 'tmpfs', MASK_FLAGS, 'size=0,mode=555');
      if (kind) mounts.mount('/dev/null', target, null, mounts.MS.BIND);
      return;
    }
    case 'seccomp':
      return proc.installSeccompFilter(encode(unflatten(s.filter)));
    case 'limit-caps':
      return proc.limitCapabilities(new Set(s.keep), Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')));
    case 'set-user': {
      const u = state.user;
      if (!u) throw new Error('no user resolved before');
      return proc.setCredentials(u.uid, u.gid, s.setgroups ? u.groups : null);
    }
    case 'chdir':
      try {
        return mounts.chdir(s.path);
      } catch (e) {
        throw new ExecFailure(`cannot enter working directory ${s.path}: ${(e as Error).message}`, EXIT.NOT_EXECUTABLE, '');
      }
    case 'find-executable':
      state.file = findExecutable(s.command, s.path);
      return;
    case 'no-new-privs':
      return proc.setNoNewPrivs();
    case 'pdeathsig':
      return proc.setParentDeathSignal(s.signal);
    case 'umask':
      return proc.setUmask(s.mask);
    case 'controlling-terminal':
      return terminals.takeControllingTerminal(s.path, state.user?.uid);
    case 'exec':
      throw new Error('exec is the last step');
  }
}

async function execStep(s: Extract<Step, { op: 'exec' }>, state: State, announce: () => Promise<void>): Promise<void> {
  const env = s.env.some((e) => e.startsWith('HOME=')) ? s.env : [...s.env, `HOME=${state.user?.home ?? '/'}`];
  const file = state.file ?? s.argv[0]!;
  const fds = readdirSync('/proc/self/fd').map(Number).filter((n) => Number.isInteger(n));
  await announce();
  try {
    // Node ignores SIGPIPE and libuv may block signals; both would survive execve
    proc.resetSignals();
    if (fds.includes(SHIM_STDERR_FD)) proc.dup2(SHIM_STDERR_FD, 2);
    proc.prepareDescriptorsForExec(fds);
  } catch (e) {
    throw new StepError(s.step, e);
  }
  try {
    proc.execve(file, s.argv, env);
  } catch (e) {
    const errno = (e as SyscallError).errnoName;
    const code = errno === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.NOT_EXECUTABLE;
    throw new ExecFailure(`exec ${file}: ${errno === 'ENOEXEC' ? 'exec format error' : (e as Error).message}`, code, s.step);
  }
}

const MASK_FLAGS = mounts.MS.RDONLY | mounts.MS.NOSUID | mounts.MS.NODEV | mounts.MS.NOEXEC;

/** What a path is, without following a final symlink; undefined when missing. */
function kindOf(path: string): 'dir' | 'other' | undefined {
  try {
    return lstatSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return undefined;
  }
}

/** Finds argv[0] the way execvp does, with the container's PATH, as the container's user. */
export function findExecutable(command: string, path: string): string {
  const candidates = command.includes('/') ? [command] : path.split(':').filter(Boolean).map((d) => posix.join(d, command));
  let denied: string | undefined;
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    try {
      if (statSync(c).isDirectory()) {
        denied ??= c;
        continue;
      }
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      denied ??= c;
    }
  }
  if (denied) throw new ExecFailure(`exec: "${command}": permission denied (${denied} is not executable)`, EXIT.NOT_EXECUTABLE, '');
  throw new ExecFailure(
    command.includes('/') ? `exec: "${command}": no such file or directory` : `exec: "${command}": executable file not found in $PATH`,
    EXIT.NOT_FOUND,
    '',
  );
}

/**
 * A tmpfs that starts with a directory's contents: an overlay on a tmpfs of its own (the native
 * executor gets these as separate steps), or where overlay is refused a copy onto that tmpfs,
 * bound at the target.
 */
function seedTmpfs(s: Extract<Operation, { op: 'seed-tmpfs' }>): void {
  ensureDir(s.scratch, 0o755);
  mounts.mount('tmpfs', s.scratch, 'tmpfs', mounts.MS.NOSUID | mounts.MS.NODEV, [s.size ? `size=${s.size}` : '', 'mode=755'].filter(Boolean).join(','));
  const upper = posix.join(s.scratch, 'upper');
  const work = posix.join(s.scratch, 'work');
  const top = statSync(s.from);
  mkdirSync(upper, { mode: top.mode & 0o7777 });
  chmodSync(upper, top.mode & 0o7777);
  chownSync(upper, top.uid, top.gid);
  mkdirSync(work, { mode: 0o700 });
  const target = secureJoin(s.root, s.target);
  ensureDir(target, 0o755);
  try {
    mounts.mount('overlay', target, 'overlay', mounts.MS.NOSUID | mounts.MS.NODEV, `lowerdir=${s.from},upperdir=${upper},workdir=${work},userxattr,volatile`);
  } catch {
    rmSync(upper, { recursive: true, force: true });
    const r = spawnSync('cp', ['-a', '--no-target-directory', '--', s.from, upper], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`copying ${s.from} onto a tmpfs failed: ${r.stderr.trim()}`);
    mounts.mount(upper, target, null, mounts.MS.BIND);
  }
}

function ensureDir(path: string, mode: number): void {
  if (!existsSync(path)) mkdirSync(path, { recursive: true, mode });
}

function ensureFile(path: string, mode: number): void {
  if (existsSync(path)) return;
  ensureDir(posix.dirname(path), 0o755);
  closeSync(openSync(path, 'a', mode));
}

function lockedFlags(path: string): number {
  const mi = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');
  // the last entry for a mount point is the one on top
  const line = mi.filter((l) => l.split(' ')[4] === path).pop();
  if (!line) return 0;
  const opts = line.split(' ')[5]!.split(',');
  let flags = 0;
  if (opts.includes('nosuid')) flags |= mounts.MS.NOSUID;
  if (opts.includes('nodev')) flags |= mounts.MS.NODEV;
  if (opts.includes('noexec')) flags |= mounts.MS.NOEXEC;
  if (opts.includes('noatime')) flags |= mounts.MS.NOATIME;
  return flags;
}

/** Exercises the side-effect-free helpers once, so V8's first-run compilation is not paid during a start. */
export function warmUp(): void {
  for (let i = 0; i < 3; i++) {
    secureJoin('/', '/etc/hosts');
    secureJoin('/', '/proc/self/fd');
    readTextIfPresent('/proc/self/mountinfo');
    resolveUser('root', 'root:x:0:0:root:/root:/bin/sh\n', 'root:x:0:\n');
    readdirSync('/proc/self/fd');
    try {
      findExecutable('sh', '/bin:/usr/bin');
    } catch {
      // only warming up
    }
  }
}
