/**
 * The last steps before the container's program replaces the shim: who it runs as, what it may do,
 * where it starts and what it sees in its environment. Shared by a container's start and by exec.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { readTextIfPresent } from '../../files.js';
import { resolveUser } from '../user.js';
import * as sys from '../syscalls.js';
import { EXIT, SHIM_STDERR_FD, type ProcessPlan } from './plan.js';
import { secureJoin } from './secure-join.js';
import { step } from './start-sequence.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// Docker's default capability set: enough for services that start as root and drop privileges,
// without CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE and the like.
const DEFAULT_CAPS = new Set([0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31]);

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


function envWithDefaults(env: string[], extra: Record<string, string>): string[] {
  const keys = new Set(env.map((e) => e.slice(0, e.indexOf('=') >>> 0)));
  const out = [...env];
  for (const [k, v] of Object.entries(extra)) if (!keys.has(k)) out.push(`${k}=${v}`);
  return out;
}

function envValue(env: string[], key: string): string | undefined {
  const hit = env.findLast((e) => e.startsWith(`${key}=`));
  return hit?.slice(key.length + 1);
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
  if (denied) throw new ExecFailure(`exec: "${command}": permission denied (${denied} is not executable)`, EXIT.NOT_EXECUTABLE, 'find executable');
  throw new ExecFailure(
    command.includes('/') ? `exec: "${command}": no such file or directory` : `exec: "${command}": executable file not found in $PATH`,
    EXIT.NOT_FOUND,
    'find executable',
  );
}

function openDescriptors(): number[] {
  return readdirSync('/proc/self/fd').map(Number).filter((n) => Number.isInteger(n));
}

/** Switches to the container's user and replaces this process with the container's program. */
export async function execProcess(plan: ProcessPlan, extraEnv: Record<string, string>, argv: string[] = plan.argv, announce: () => Promise<void>): Promise<never> {
  const user = step('resolve user', () => resolveUser(plan.user, readTextIfPresent('/etc/passwd') ?? '', readTextIfPresent('/etc/group') ?? ''));
  const env = envWithDefaults(plan.env, { PATH: DEFAULT_PATH, ...extraEnv, HOME: user.home });
  step('create working directory', () => {
    if (!existsSync(plan.workingDir)) mkdirSync(plan.workingDir, { recursive: true, mode: 0o755 });
  });
  const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  step('limit capabilities', () => sys.limitCapabilities(DEFAULT_CAPS, lastCap));
  step('set user', () => sys.setCredentials(user.uid, user.gid, user.groups));
  try {
    sys.chdir(plan.workingDir);
  } catch (e) {
    throw new ExecFailure(`cannot enter working directory ${plan.workingDir}: ${(e as Error).message}`, EXIT.NOT_EXECUTABLE, 'enter working directory');
  }
  const file = findExecutable(argv[0]!, envValue(env, 'PATH') ?? DEFAULT_PATH);
  step('no_new_privs', () => sys.setNoNewPrivs());
  // set after the uid change, which clears it: the container dies with its supervising process
  step('parent-death signal', () => sys.setParentDeathSignal(9));
  sys.setUmask(0o022);
  const fds = openDescriptors();
  await announce();
  step('reset signals', () => sys.resetSignals());
  if (fds.includes(SHIM_STDERR_FD)) sys.dup2(SHIM_STDERR_FD, 2);
  sys.prepareDescriptorsForExec(fds);
  try {
    return sys.execve(file, argv, env);
  } catch (e) {
    const errno = (e as sys.SyscallError).errnoName;
    const code = errno === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.NOT_EXECUTABLE;
    throw new ExecFailure(`exec ${file}: ${errno === 'ENOEXEC' ? 'exec format error' : (e as Error).message}`, code, 'execve');
  }
}

/** Exercises the side-effect-free helpers of the start sequence (see the shim's main). */
export function warmUp(): void {
  for (let i = 0; i < 3; i++) {
    secureJoin('/', '/etc/hosts');
    secureJoin('/', '/proc/self/fd');
    readTextIfPresent('/proc/self/mountinfo');
    resolveUser('root', 'root:x:0:0:root:/root:/bin/sh\n', 'root:x:0:\n');
    envWithDefaults(['A=1'], { PATH: DEFAULT_PATH });
    openDescriptors();
    try {
      findExecutable('sh', '/bin:/usr/bin');
    } catch {
      // only warming up
    }
  }
}
