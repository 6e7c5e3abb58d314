/**
 * A sandbox that does not start becomes one MayflyError: the step that failed, the command, what
 * it wrote to stderr, and — read from the failure and from the confinement we run under — the
 * setting that would let it start.
 */
import { MayflyError, isMayflyError } from '../core/errors.js';
import { confinement, liftingSetting } from '../core/confinement.js';
import { readTextIfPresent } from '../core/files.js';

export interface SandboxStartFailure {
  /** what was being done: 'start unshare', 'create the user namespace', 'write the id maps', 'start the sandbox' */
  step: string;
  command: string[];
  stderr: string;
  /** how the process ended, if it did */
  exit?: string;
  cause?: unknown;
}

/** What to change, judged from unshare's complaint and from what the engine withholds. */
export function sandboxStartHint(stderr: string, step: string): string {
  if (/unshare failed|clone failed/.test(stderr) || step === 'create the user namespace') {
    if (readTextIfPresent('/proc/sys/user/max_user_namespaces')?.trim() === '0') return 'user namespaces are disabled on this machine: sysctl -w user.max_user_namespaces=15000';
    if (readTextIfPresent('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim() === '1') {
      return 'AppArmor restricts unprivileged user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for node)';
    }
    if (confinement().seccomp) return `this process's seccomp filter refuses user namespaces; ${liftingSetting('seccomp-userns')}`;
  }
  if (/mount \/proc/.test(stderr)) return `a fresh /proc is refused here; ${liftingSetting('masked-proc')}`;
  if (/uid_map|gid_map|setgroups/.test(stderr)) return 'the id maps of the user namespace were refused: run `mayfly doctor` (id mapping)';
  return 'run `mayfly doctor` to see what this machine allows (user namespaces, /etc/subuid, uidmap)';
}

export function sandboxStartError(f: SandboxStartFailure): MayflyError {
  const stderr = f.stderr.trim();
  const details = { step: f.step, command: f.command.join(' '), stderr, ...(f.exit ? { exit: f.exit } : {}) };
  // the sandbox's own report (e.g. MAYFLY_HOME not writable), or an id map refusal: already explained
  if (isMayflyError(f.cause)) {
    return new MayflyError(f.cause.code, `could not start the mayfly sandbox (step "${f.step}"): ${f.cause.message.split('\n  hint: ')[0]}`, {
      cause: f.cause,
      hint: f.cause.hint,
      details: { ...f.cause.details, ...details },
    });
  }
  const why = (f.cause as Error | undefined)?.message ?? f.exit ?? 'failed';
  const lines = [`could not start the mayfly sandbox: step "${f.step}" failed: ${why}`, `  command: ${details.command}`];
  if (stderr) lines.push(`  stderr: ${stderr.split('\n').join('\n          ')}`);
  return new MayflyError('USERNS_UNAVAILABLE', lines.join('\n'), { cause: f.cause, hint: sandboxStartHint(stderr, f.step), details });
}
