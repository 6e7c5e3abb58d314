/**
 * What this machine offers a rootless runtime, each finding with what to do about it. The checks
 * that matter most (user namespace, overlay, cgroups) are made by really starting a sandbox.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { readTextIfPresent } from '../files.js';
import { which } from '../which.js';
import { hostIdMapping, subordinateRanges } from '../runtime/idmap.js';
import { mayflyHome } from '../paths.js';
import { SandboxClient } from '../runtime/sandbox-client.js';

export type Level = 'ok' | 'warn' | 'fail';

export interface Finding {
  name: string;
  level: Level;
  detail: string;
  fix?: string;
}

function canReadWrite(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function staticFindings(): Finding[] {
  const out: Finding[] = [];
  const uid = process.getuid?.() ?? 0;
  const unshare = which('unshare');
  let version = '';
  try {
    version = unshare ? execFileSync(unshare, ['--version'], { encoding: 'utf8' }).trim() : '';
  } catch {
    // reported below
  }
  out.push(
    unshare
      ? { name: 'util-linux unshare', level: 'ok', detail: version || unshare }
      : { name: 'util-linux unshare', level: 'fail', detail: 'not found', fix: 'apt install util-linux' },
  );
  const maxNs = Number(readTextIfPresent('/proc/sys/user/max_user_namespaces')?.trim() ?? '0');
  const apparmor = readTextIfPresent('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim();
  out.push(
    maxNs > 0 && apparmor !== '1'
      ? { name: 'user namespaces', level: 'ok', detail: `enabled (max ${maxNs})` }
      : {
          name: 'user namespaces',
          level: 'fail',
          detail: maxNs === 0 ? 'user.max_user_namespaces is 0' : 'AppArmor restricts unprivileged user namespaces',
          fix: maxNs === 0 ? 'sysctl -w user.max_user_namespaces=15000' : 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for node)',
        },
  );
  const mapping = hostIdMapping();
  if (uid === 0) {
    out.push({ name: 'id mapping', level: 'ok', detail: 'root: ids 0-65535 map to themselves' });
  } else {
    const user = safeUser();
    const sub = subordinateRanges(readTextIfPresent('/etc/subuid') ?? '', user, uid);
    out.push(
      mapping.single
        ? {
            name: 'id mapping',
            level: 'warn',
            detail: sub.length ? 'newuidmap/newgidmap missing or not setuid: only your own uid is mapped' : `no range for ${user} in /etc/subuid and /etc/subgid: only your own uid is mapped (images that run services as other users will fail to chown)`,
            fix: sub.length ? 'apt install uidmap' : `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`,
          }
        : { name: 'id mapping', level: 'ok', detail: `0 -> ${uid}, 1-65536 -> ${mapping.uids[1]!.outside}... (newuidmap)` },
    );
  }
  const fuse = which('fuse-overlayfs');
  out.push(
    fuse && canReadWrite('/dev/fuse')
      ? { name: 'fuse-overlayfs', level: 'ok', detail: `${fuse}, /dev/fuse usable` }
      : { name: 'fuse-overlayfs', level: 'warn', detail: fuse ? '/dev/fuse is not readable and writable by you' : 'not installed (only needed where kernel overlayfs is refused)', fix: fuse ? 'chmod 0666 /dev/fuse' : 'apt install fuse-overlayfs' },
  );
  const ip = which('ip');
  out.push(
    ip && which('nsenter')
      ? { name: 'user-defined networks', level: 'ok', detail: `bridges and veths made with ${ip} inside the sandbox` }
      : { name: 'user-defined networks', level: 'warn', detail: 'iproute2 (ip) is not installed: containers cannot join networks made with `mayfly network create`', fix: 'apt install iproute2' },
  );
  const tun = canReadWrite('/dev/net/tun');
  const helpers = ['slirp4netns', 'pasta'].filter((h) => which(h));
  out.push(
    helpers.length && tun
      ? { name: 'network helpers', level: 'ok', detail: `${helpers.join(', ')}; /dev/net/tun usable` }
      : {
          name: 'network helpers',
          level: 'warn',
          detail: helpers.length ? `${helpers.join(', ')} installed but /dev/net/tun is not usable by you` : 'neither slirp4netns nor pasta is installed (containers cannot reach the outside from a private network)',
          fix: helpers.length ? 'chmod 0666 /dev/net/tun' : 'apt install slirp4netns passt',
        },
  );
  const tini = ['/usr/bin/tini-static', '/usr/bin/tini'].find((p) => existsSync(p));
  out.push(tini ? { name: 'init (--init)', level: 'ok', detail: tini } : { name: 'init (--init)', level: 'warn', detail: 'tini not installed', fix: 'apt install tini' });
  const home = mayflyHome();
  out.push({ name: 'MAYFLY_HOME', level: 'ok', detail: `${home}${existsSync(home) ? '' : ' (created on first use)'}` });
  return out;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.());
  }
}

/** Starts a real sandbox: proves the user namespace, and reports the rootfs driver and cgroups. */
export async function sandboxFindings(): Promise<Finding[]> {
  const started = Date.now();
  let sandbox: SandboxClient | undefined;
  try {
    sandbox = await SandboxClient.boot();
    const ms = Date.now() - started;
    const { rootfsDriver, cgroups } = sandbox.info;
    return [
      { name: 'sandbox', level: 'ok', detail: `user, mount and pid namespaces created in ${ms} ms` },
      rootfsDriver === 'overlay'
        ? { name: 'root filesystem', level: 'ok', detail: 'kernel overlayfs inside the user namespace' }
        : rootfsDriver === 'fuse-overlayfs'
          ? { name: 'root filesystem', level: 'warn', detail: 'fuse-overlayfs (the kernel refuses overlayfs in a user namespace): works, starts slower', fix: 'use Linux >= 5.11 for kernel overlayfs' }
          : { name: 'root filesystem', level: 'warn', detail: 'neither kernel overlayfs nor fuse-overlayfs works: layers are copied per container (slow)', fix: 'use Linux >= 5.11, or apt install fuse-overlayfs and make /dev/fuse usable' },
      cgroups.startsWith('none')
        ? { name: 'cgroups (limits, freezer)', level: 'warn', detail: cgroups.replace(/^none: /, ''), fix: 'limits need root (cgroup v1) or a delegated cgroup v2 subtree (systemd user session)' }
        : { name: 'cgroups (limits, freezer)', level: 'ok', detail: cgroups },
    ];
  } catch (e) {
    return [{ name: 'sandbox', level: 'fail', detail: (e as Error).message.split('\n')[0]!, fix: 'fix the failures above, then run mayfly doctor again' }];
  } finally {
    await sandbox?.close();
  }
}

