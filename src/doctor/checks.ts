/**
 * What this machine offers a rootless runtime, each finding with what to do about it. The checks
 * that matter most (user namespace, /proc, overlay, cgroups, the start steps) are made by really
 * starting a sandbox and a container. Inside a CI job's container each limit names the one engine
 * or pod setting that lifts it (core/confinement.ts). Nothing here throws: a check that cannot be
 * made is itself a finding.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAP, confinement, hasCap, liftingSetting, type Limit } from '../core/confinement.js';
import { isMayflyError } from '../core/errors.js';
import { readTextIfPresent } from '../core/files.js';
import { mayflyHome } from '../core/paths.js';
import { which } from '../core/which.js';
import { Runtime } from '../engine/runtime.js';
import { outboundSupport } from '../network/outbound.js';
import { busyboxRootfs } from '../runtime/busybox-rootfs.js';
import { hostIdMapping } from '../runtime/idmap.js';
import type { StartDegradation } from '../runtime/start-limits.js';

export type Level = 'ok' | 'warn' | 'fail';

export interface Finding {
  name: string;
  level: Level;
  detail: string;
  fix?: string;
}

function access(path: string): 'usable' | 'absent' | 'denied' {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return 'usable';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'denied';
  }
}

/** A check that threw is reported, never rethrown. */
function safely(name: string, check: () => Finding | Finding[]): Finding[] {
  try {
    const f = check();
    return Array.isArray(f) ? f : [f];
  } catch (e) {
    return [{ name, level: 'warn', detail: `could not be checked: ${(e as Error)?.message ?? String(e)}` }];
  }
}

/** The container this process runs in (a CI job's), if any: what its engine withholds. */
function jobContainerFinding(): Finding[] {
  const c = confinement();
  // only when it withholds something: a VM built from a container image has /.dockerenv too
  const confined = c.seccomp || c.procMasks.length > 0 || !hasCap(c.boundingCaps, CAP.SYS_ADMIN);
  if (!c.engine || !confined) return [];
  const parts = [
    c.seccomp ? 'a seccomp filter' : 'no seccomp filter',
    hasCap(c.boundingCaps, CAP.SYS_ADMIN) ? 'CAP_SYS_ADMIN' : 'no CAP_SYS_ADMIN',
    c.procMasks.length ? `${c.procMasks.length} masked /proc paths` : '/proc unmasked',
    `/dev/fuse ${access('/dev/fuse')}`,
    `/dev/net/tun ${access('/dev/net/tun')}`,
  ];
  return [{ name: 'job container', level: 'ok', detail: `inside a ${c.engine} container: ${parts.join(', ')}` }];
}

export function staticFindings(): Finding[] {
  const out: Finding[] = [...safely('job container', jobContainerFinding)];
  out.push(
    ...safely('util-linux unshare', () => {
      const unshare = which('unshare');
      if (!unshare) return { name: 'util-linux unshare', level: 'fail', detail: 'not found', fix: 'apt install util-linux' };
      let version = unshare;
      try {
        version = execFileSync(unshare, ['--version'], { encoding: 'utf8' }).trim();
      } catch {
        // the path will do
      }
      return { name: 'util-linux unshare', level: 'ok', detail: version };
    }),
  );
  out.push(
    ...safely('user namespaces', () => {
      const maxNs = Number(readTextIfPresent('/proc/sys/user/max_user_namespaces')?.trim() ?? '0');
      const apparmor = readTextIfPresent('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim();
      if (maxNs > 0 && apparmor !== '1') return { name: 'user namespaces', level: 'ok', detail: `enabled (max ${maxNs})` };
      return {
        name: 'user namespaces',
        level: 'fail',
        detail: maxNs === 0 ? 'user.max_user_namespaces is 0' : 'AppArmor restricts unprivileged user namespaces',
        fix: maxNs === 0 ? 'sysctl -w user.max_user_namespaces=15000' : 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for node)',
      };
    }),
  );
  out.push(...safely('id mapping', idMappingFinding));
  out.push(
    ...safely('fuse-overlayfs', () => {
      const fuse = which('fuse-overlayfs');
      const dev = access('/dev/fuse');
      if (fuse && dev === 'usable') return { name: 'fuse-overlayfs', level: 'ok', detail: `${fuse}, /dev/fuse usable` };
      if (!fuse) return { name: 'fuse-overlayfs', level: 'warn', detail: 'not installed (only needed where kernel overlayfs is refused)', fix: 'apt install fuse-overlayfs' };
      if (dev === 'absent') return { name: 'fuse-overlayfs', level: 'warn', detail: `there is no /dev/fuse${confinement().engine ? ' in this container' : ''}`, fix: liftingSetting('no-fuse') };
      return { name: 'fuse-overlayfs', level: 'warn', detail: '/dev/fuse is not readable and writable by you', fix: 'chmod 0666 /dev/fuse' };
    }),
  );
  out.push(
    ...safely('user-defined networks', () =>
      which('ip') && which('nsenter')
        ? { name: 'user-defined networks', level: 'ok', detail: `bridges and veths made with ${which('ip')} inside the sandbox; published ports need nothing more` }
        : { name: 'user-defined networks', level: 'warn', detail: 'iproute2 (ip) is not installed: containers cannot join networks made with `mayfly network create`', fix: 'apt install iproute2' },
    ),
  );
  out.push(
    ...safely('outbound access', () => {
      const s = outboundSupport();
      return s.usable
        ? { name: 'outbound access', level: 'ok', detail: `${s.helper}; /dev/net/tun usable` }
        : { name: 'outbound access', level: 'warn', detail: `containers on networks cannot reach the outside: ${s.reason} (published ports and container-to-container traffic work)`, fix: s.fix };
    }),
  );
  out.push(
    ...safely('init (--init)', () => {
      const tini = ['/usr/bin/tini-static', '/usr/bin/tini'].find((p) => existsSync(p));
      return tini ? { name: 'init (--init)', level: 'ok', detail: tini } : { name: 'init (--init)', level: 'warn', detail: 'tini not installed', fix: 'apt install tini' };
    }),
  );
  out.push(
    ...safely('MAYFLY_HOME', () => {
      const home = mayflyHome();
      return { name: 'MAYFLY_HOME', level: 'ok', detail: `${home}${existsSync(home) ? '' : ' (created on first use)'}` };
    }),
  );
  return out;
}

function idMappingFinding(): Finding {
  const mapping = hostIdMapping();
  const fix = (limit: Limit | undefined, otherwise: string) => (limit ? liftingSetting(limit) : otherwise);
  const uid = process.getuid?.() ?? 0;
  if (mapping.limited?.blocked) return { name: 'id mapping', level: 'fail', detail: mapping.limited.why, fix: fix(mapping.limited.limit, '') };
  if (!mapping.single) {
    const range = mapping.uids.at(-1)!;
    const detail = uid === 0 ? `root: ids 0-${range.count - 1} map to themselves` : `0 -> ${uid}, 1-${range.count} -> ${range.outside}... (newuidmap)`;
    return { name: 'id mapping', level: mapping.limited ? 'warn' : 'ok', detail: mapping.limited ? `${detail}; ${mapping.limited.why}` : detail };
  }
  const why = mapping.limited?.why ?? 'only your own id';
  const user = safeUser();
  return {
    name: 'id mapping',
    level: 'warn',
    detail: `only your own uid is mapped: ${why} (images whose files belong to other users still run; their chown calls fail)`,
    fix: fix(mapping.limited?.limit, /no range/.test(why) ? `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}` : 'apt install uidmap'),
  };
}

function safeUser(): string {
  try {
    return execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  } catch {
    return String(process.getuid?.());
  }
}

/**
 * Starts a real sandbox and, when busybox-static is there to make a root filesystem from, a real
 * container: proves the user namespace, and reports /proc, the rootfs driver, cgroups and every
 * start step that had to be done another way.
 */
export async function sandboxFindings(): Promise<Finding[]> {
  const started = Date.now();
  let rt: Runtime | undefined;
  try {
    rt = await Runtime.start({ onWarning: () => {} });
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    const [first, ...rest] = message.split('\n  hint: ')[0]!.split('\n');
    const stderr = rest.find((l) => l.trim().startsWith('stderr:'))?.trim();
    return [{ name: 'sandbox', level: 'fail', detail: `${first}${stderr ? ` (${stderr})` : ''}`, fix: isMayflyError(e) && e.hint ? e.hint : 'fix the failures above, then run mayfly doctor again' }];
  }
  try {
    const ms = Date.now() - started;
    const info = rt.info;
    const out: Finding[] = [
      { name: 'sandbox', level: 'ok', detail: `user and mount namespaces${info.startLimits.proc === 'new' ? ', and a pid namespace,' : ''} created in ${ms} ms` },
      info.startLimits.proc === 'new' ? { name: '/proc', level: 'ok', detail: 'a fresh procfs for each container (its own processes and pids)' } : degradedFinding(info.degraded, 'mount /proc', '/proc'),
      ...info.degraded.filter((d) => d.step !== 'mount /proc').map((d) => degradedFinding(info.degraded, d.step, `start step "${d.step}"`)),
      rootfsFinding(info.rootfsDriver, info.rootfsReason),
      startPathFinding(info.startPath),
      info.cgroups.startsWith('none')
        ? { name: 'cgroups (limits, freezer)', level: 'warn', detail: info.cgroups.replace(/^none: /, ''), fix: 'limits need root (cgroup v1) or a delegated cgroup v2 subtree (systemd user session)' }
        : { name: 'cgroups (limits, freezer)', level: 'ok', detail: info.cgroups },
      ...(await containerStartFindings(rt)),
    ];
    return out;
  } catch (e) {
    return [{ name: 'sandbox', level: 'warn', detail: `started, but could not be examined: ${(e as Error)?.message ?? String(e)}` }];
  } finally {
    await rt.close().catch(() => {});
  }
}

/** A start step done another way (runtime/start-limits.ts): what containers get instead, why, and the setting. */
function degradedFinding(all: StartDegradation[], step: string, name: string): Finding {
  const d = all.find((x) => x.step === step)!;
  return { name, level: 'warn', detail: `${d.instead}. Why: ${d.why}`, fix: d.fix };
}

function startPathFinding(startPath: string): Finding {
  if (startPath.startsWith('native') || startPath.includes('MAYFLY_START_PATH=node')) return { name: 'start path', level: 'ok', detail: startPath };
  return {
    name: 'start path',
    level: 'warn',
    detail: `${startPath}: starts are slower and each sandbox keeps a Node shim warm`,
    fix: 'reinstall mayfly (the package ships the library for linux-x64 and linux-arm64), or run `npm run build` in a checkout',
  };
}

function rootfsFinding(driver: string, reason: string | undefined): Finding {
  switch (driver) {
    case 'overlay':
      return { name: 'root filesystem', level: 'ok', detail: 'kernel overlayfs inside the user namespace' };
    case 'overlay-tmpfs': {
      const [why, fix] = splitFix(reason ?? '');
      return { name: 'root filesystem', level: 'warn', detail: `kernel overlayfs with each container's writes on a tmpfs (memory): starts as fast as overlay. ${why}`, fix: fix ?? liftingSetting('overlay-home') };
    }
    case 'fuse-overlayfs':
      return { name: 'root filesystem', level: 'warn', detail: 'fuse-overlayfs (the kernel refuses overlayfs in a user namespace): works, starts slower', fix: 'use Linux >= 5.11 for kernel overlayfs' };
    default:
      return { name: 'root filesystem', level: 'warn', detail: `layers are copied per container (slow): ${reason ?? ''}`, fix: 'use Linux >= 5.11, or apt install fuse-overlayfs and make /dev/fuse usable' };
  }
}

/** "why; setting" → [why, setting] (the rootfs probe's reason ends with the setting that lifts it). */
function splitFix(text: string): [string, string | undefined] {
  const i = text.lastIndexOf('; ');
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 2)];
}

async function containerStartFindings(rt: Runtime): Promise<Finding[]> {
  if (!['/bin/busybox', '/usr/bin/busybox'].some((p) => existsSync(p))) {
    return [{ name: 'container start', level: 'warn', detail: 'not tried: busybox-static is not installed to make a test root filesystem from', fix: 'apt install busybox-static' }];
  }
  const dir = mkdtempSync(join(tmpdir(), 'mayfly-doctor-'));
  try {
    const rootfs = busyboxRootfs(join(dir, 'rootfs'));
    const t0 = process.hrtime.bigint();
    const c = await rt.run({ layers: [rootfs], command: ['true'] });
    const { exitCode } = await c.wait();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await c.remove();
    return [
      exitCode === 0
        ? { name: 'container start', level: 'ok', detail: `a busybox container ran \`true\` in ${ms.toFixed(0)} ms (first start of this sandbox)` }
        : { name: 'container start', level: 'fail', detail: `a busybox container running \`true\` exited with ${exitCode}` },
    ];
  } catch (e) {
    return [{ name: 'container start', level: 'fail', detail: (e as Error)?.message?.split('\n')[0] ?? String(e), fix: isMayflyError(e) && e.hint ? e.hint : 'run with MAYFLY_DEBUG=1 to see the sandbox’s diagnostics' }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** fuse-overlayfs matters only where kernel overlayfs is refused: once a sandbox says it is not, its warning is moot. */
export function settle(findings: Finding[]): Finding[] {
  const rootfs = findings.find((f) => f.name === 'root filesystem');
  const kernelOverlay = rootfs && /kernel overlayfs/.test(rootfs.detail) && !/^fuse/.test(rootfs.detail);
  return findings.map((f) => (f.name === 'fuse-overlayfs' && f.level === 'warn' && kernelOverlay ? { name: f.name, level: 'ok', detail: `not needed (kernel overlayfs works); ${f.detail}` } : f));
}
