import { describe, expect, it } from 'vitest';
import { CAP, fsTypeOf, hasCap, liftingSetting, parseMountinfo, parseStatus, procMasksIn } from './confinement.js';

// /proc/self/mountinfo and /proc/self/status as seen in `podman run debian:bookworm` with podman's defaults
const JOB_MOUNTINFO = `131 52 0:42 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
132 131 0:46 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
133 131 0:47 / /dev rw,nosuid,noexec - tmpfs tmpfs rw,size=65536k,mode=755
134 131 0:48 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
137 131 254:0 /vol /var/lib/mayfly rw,relatime - ext4 /dev/vda rw
140 131 254:0 /dir\\040with\\040space /mnt/a\\040b rw,relatime - ext4 /dev/vda rw
53 132 0:46 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw
57 132 0:51 / /proc/acpi ro,relatime - tmpfs tmpfs ro
58 132 0:47 /null /proc/keys rw,nosuid,noexec - tmpfs tmpfs rw,size=65536k,mode=755
`;
const JOB_STATUS = `Name:\tcat
NoNewPrivs:\t0
Seccomp:\t2
Seccomp_filters:\t1
CapInh:\t0000000000000000
CapPrm:\t00000000a80425fb
CapEff:\t00000000a80425fb
CapBnd:\t00000000a80425fb
`;

describe('confinement', () => {
  it('finds the masks over /proc, not binfmt_misc', () => {
    const mounts = parseMountinfo(`${JOB_MOUNTINFO}60 132 0:60 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n`);
    expect(procMasksIn(mounts)).toEqual(['/proc/bus', '/proc/acpi', '/proc/keys']);
    expect(procMasksIn(parseMountinfo('22 1 0:5 / /proc rw - proc proc rw\n'))).toEqual([]);
  });
  it('tells the filesystem under a path (the job root is overlay, a volume is not)', () => {
    const mounts = parseMountinfo(JOB_MOUNTINFO);
    expect(fsTypeOf('/root/.cache/mayfly', mounts)).toBe('overlay');
    expect(fsTypeOf('/var/lib/mayfly/home', mounts)).toBe('ext4');
    expect(fsTypeOf('/var/lib/mayflyx', mounts)).toBe('overlay');
    expect(fsTypeOf('/mnt/a b/c', mounts)).toBe('ext4');
  });
  it('reads seccomp, no_new_privs and capabilities from status', () => {
    const s = parseStatus(JOB_STATUS);
    expect(s).toMatchObject({ seccomp: true, noNewPrivs: false });
    expect(hasCap(s.effectiveCaps, CAP.SETFCAP)).toBe(true);
    expect(hasCap(s.effectiveCaps, CAP.SETUID)).toBe(true);
    expect(hasCap(s.effectiveCaps, CAP.SYS_ADMIN)).toBe(false);
  });
  it('names the setting in the words of the engine running us', () => {
    expect(liftingSetting('masked-proc', { engine: 'podman' })).toBe('podman: --security-opt unmask=ALL');
    expect(liftingSetting('masked-proc', { engine: 'docker' })).toBe('docker: --security-opt systempaths=unconfined');
    expect(liftingSetting('masked-proc', { engine: 'kubernetes' })).toMatch(/^Kubernetes: securityContext.procMount: Unmasked/);
    expect(liftingSetting('no-tun', { engine: undefined })).toBe('--device /dev/net/tun; Kubernetes: a device plugin that offers /dev/net/tun');
  });
});
