/**
 * A seccomp profile that treats namespaces and mounts as Docker's and containerd's default profiles
 * do — allowed only to a process holding CAP_SYS_ADMIN, so a job without it gets EPERM from unshare
 * and mount, and clone with a CLONE_NEW* flag — made from podman's own default profile on this
 * machine (which allows them), so that the CI shape of GitHub Actions `container:` jobs and
 * GitLab's docker executor can be measured here without Docker.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Rule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo: number; op: string }[];
  includes?: { caps?: string[] };
  excludes?: { caps?: string[] };
}

const GATED = ['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'fsopen', 'fsmount', 'fsconfig', 'fspick', 'move_mount', 'open_tree', 'mount_setattr'];
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET */
const CLONE_NEW_FLAGS = 0x7e020000;
const ADMIN = { caps: ['CAP_SYS_ADMIN'] };

export function writeDockerLikeSeccomp(dir: string, podmanProfile = '/usr/share/containers/seccomp.json'): string {
  const profile = JSON.parse(readFileSync(podmanProfile, 'utf8')) as { syscalls: Rule[] };
  const held = new Set([...GATED, 'clone', 'clone3']);
  const syscalls: Rule[] = profile.syscalls.map((r) => (r.action === 'SCMP_ACT_ALLOW' && !r.includes?.caps ? { ...r, names: r.names.filter((n) => !held.has(n)) } : r)).filter((r) => r.names.length);
  syscalls.push(
    { names: [...held], action: 'SCMP_ACT_ALLOW', includes: ADMIN },
    { names: GATED, action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: ADMIN },
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NEW_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], excludes: ADMIN },
    // glibc falls back to clone when clone3 is "not implemented"
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: ADMIN },
  );
  const file = join(dir, 'seccomp-docker-like.json');
  writeFileSync(file, JSON.stringify({ ...profile, syscalls }, null, 1));
  return file;
}
