import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES, type CapabilityName } from '../../model/capabilities.js';
import { AUDIT_ARCH, encode, flatten, MAX_INSNS, RET, unflatten } from './bpf.js';
import { compile, returnValue, type Action, type Policy, type Rule } from './compile.js';
import { defaultPolicy, type SeccompArch } from './default-profile.js';
import { runFilter } from './run-filter.js';
import { SYSCALL_NUMBERS } from './syscall-table.js';
import { defaultFilter } from './index.js';

const EPERM = RET.ERRNO | 1;
const ENOSYS = RET.ERRNO | 38;
const ALLOW = RET.ALLOW;
const CLONE_NEWUSER = 0x10000000n;
const CLONE_NEWNET = 0x40000000n;
const CLONE_THREAD_FLAGS = 0x3d0f00n; // what pthread_create passes
const SIGCHLD = 17n;

function decide(arch: SeccompArch, caps: readonly CapabilityName[], name: string, args: bigint[] = []): number {
  const nr = (SYSCALL_NUMBERS[arch] as Record<string, number>)[name];
  if (nr === undefined) throw new Error(`${name} has no number on ${arch}`);
  return runFilter(unflatten(defaultFilter(arch, caps)), { arch: AUDIT_ARCH[arch], nr, args });
}

describe('the default policy (Docker-equivalent), compiled', () => {
  const cases: [string, bigint[], number][] = [
    // ordinary work
    ['read', [], ALLOW],
    ['openat', [], ALLOW],
    ['execve', [], ALLOW],
    ['exit_group', [], ALLOW],
    ['futex', [], ALLOW],
    ['mmap', [], ALLOW],
    ['io_uring_setup', [], ALLOW],
    ['ptrace', [], ALLOW],
    ['chroot', [], ALLOW], // SYS_CHROOT is a default capability
    // processes and threads, but no new namespaces
    ['clone', [SIGCHLD], ALLOW],
    ['clone', [CLONE_THREAD_FLAGS], ALLOW],
    ['clone', [CLONE_NEWUSER | SIGCHLD], EPERM],
    ['clone', [CLONE_NEWNET], EPERM],
    ['clone', [(1n << 32n) | SIGCHLD], ALLOW], // high bits are no namespace flags
    ['clone3', [], ENOSYS],
    ['unshare', [CLONE_NEWUSER], EPERM],
    ['unshare', [0n], EPERM],
    ['setns', [], EPERM],
    // mounts, keys, kernel
    ['mount', [], EPERM],
    ['umount2', [], EPERM],
    ['fsopen', [], EPERM],
    ['open_tree', [], EPERM],
    ['move_mount', [], EPERM],
    ['pivot_root', [], EPERM],
    ['add_key', [], EPERM],
    ['keyctl', [], EPERM],
    ['request_key', [], EPERM],
    ['bpf', [], EPERM],
    ['perf_event_open', [], EPERM],
    ['kexec_load', [], EPERM],
    ['kexec_file_load', [], EPERM],
    ['init_module', [], EPERM],
    ['finit_module', [], EPERM],
    ['open_by_handle_at', [], EPERM],
    ['userfaultfd', [], EPERM],
    ['reboot', [], EPERM],
    ['swapon', [], EPERM],
    ['settimeofday', [], EPERM],
    ['clock_settime', [], EPERM],
    ['syslog', [], EPERM],
    ['statmount', [], EPERM],
    ['listmount', [], EPERM],
    // argument tests
    ['socket', [2n], ALLOW], // AF_INET
    ['socket', [1n], ALLOW], // AF_UNIX
    ['socket', [40n], EPERM], // AF_VSOCK
    ['socket', [(1n << 32n) | 40n], EPERM], // the kernel reads an int: the high word cannot hide it
    ['personality', [0n], ALLOW],
    ['personality', [0xffffffffn], ALLOW],
    ['personality', [0x0040000n], EPERM], // ADDR_NO_RANDOMIZE
  ];
  for (const arch of ['x86_64', 'aarch64'] as const) {
    it.each(cases)(`${arch}: %s(%s) → %i`, (name, args, expected) => {
      expect(decide(arch, DEFAULT_CAPABILITIES, name, args)).toBe(expected);
    });
  }

  it('refuses calls from another architecture or ABI', () => {
    const program = unflatten(defaultFilter('x86_64', DEFAULT_CAPABILITIES));
    expect(runFilter(program, { arch: AUDIT_ARCH.i386, nr: 20 })).toBe(EPERM); // int 0x80 getpid
    expect(runFilter(program, { arch: AUDIT_ARCH.x86_64, nr: 0x40000000 + 39 })).toBe(EPERM); // x32 getpid
    const arm = unflatten(defaultFilter('aarch64', DEFAULT_CAPABILITIES));
    expect(runFilter(arm, { arch: AUDIT_ARCH.arm, nr: 20 })).toBe(EPERM);
    expect(runFilter(arm, { arch: AUDIT_ARCH.x86_64, nr: 63 })).toBe(EPERM);
  });

  it('answers ENOSYS for calls newer than its table, and for nonsense numbers', () => {
    const program = unflatten(defaultFilter('x86_64', DEFAULT_CAPABILITIES));
    expect(runFilter(program, { arch: AUDIT_ARCH.x86_64, nr: 470 })).toBe(ENOSYS);
    expect(runFilter(program, { arch: AUDIT_ARCH.x86_64, nr: -1 })).toBe(EPERM); // the x32 bit is set
    expect(runFilter(unflatten(defaultFilter("aarch64", DEFAULT_CAPABILITIES)), { arch: AUDIT_ARCH.aarch64, nr: -1 })).toBe(ENOSYS);
  });

  it('gives back what an added capability governs', () => {
    const caps: CapabilityName[] = [...DEFAULT_CAPABILITIES, 'SYS_ADMIN', 'SYS_TIME'];
    expect(decide('x86_64', caps, 'mount')).toBe(ALLOW);
    expect(decide('x86_64', caps, 'unshare', [CLONE_NEWUSER])).toBe(ALLOW);
    expect(decide('x86_64', caps, 'clone', [CLONE_NEWUSER])).toBe(ALLOW);
    expect(decide('x86_64', caps, 'clone3')).toBe(ALLOW);
    expect(decide('x86_64', caps, 'clock_settime')).toBe(ALLOW);
    expect(decide('x86_64', caps, 'keyctl')).toBe(EPERM); // no capability brings keyrings back
    const noChroot = DEFAULT_CAPABILITIES.filter((c) => c !== 'SYS_CHROOT');
    expect(decide('x86_64', noChroot, 'chroot')).toBe(EPERM);
  });

  it('agrees with the policy for every number of both tables', () => {
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const policy = defaultPolicy(arch, new Set(DEFAULT_CAPABILITIES));
      const program = compile(policy);
      expect(program.length).toBeLessThan(MAX_INSNS);
      for (let nr = 0; nr <= policy.maxKnown + 2; nr++) {
        const rule = policy.rules.get(nr) ?? (nr > policy.maxKnown ? policy.unknown : policy.otherwise);
        if (typeof rule === 'object' && 'cases' in rule) continue; // covered by the table above
        expect(runFilter(program, { arch: policy.auditArch, nr })).toBe(returnValue(rule));
      }
    }
  });

  it('flattens to quadruples and encodes 8-byte sock_filter records', () => {
    const words = defaultFilter('x86_64', DEFAULT_CAPABILITIES);
    expect(words.length % 4).toBe(0);
    const bytes = encode(unflatten(words));
    expect(bytes.length).toBe(words.length * 2);
    expect(bytes.readUInt16LE(0)).toBe(words[0]); // ld [4]: the arch
    expect(bytes.readUInt32LE(4)).toBe(4);
    expect(flatten(unflatten(words))).toEqual(words);
  });
});

describe('compile', () => {
  const base = (rules: Map<number, Rule>, maxKnown: number): Policy => ({
    auditArch: AUDIT_ARCH.x86_64,
    foreignArch: 'kill',
    rules,
    otherwise: { errno: 1 },
    maxKnown,
    unknown: { errno: 38 },
  });

  it('keeps far jumps correct when one side of the tree is longer than 255 instructions', () => {
    // alternating actions: every number is a range of its own
    const rules = new Map<number, Rule>();
    for (let nr = 0; nr < 1500; nr++) rules.set(nr, nr % 2 ? 'allow' : { errno: 1 + (nr % 7) });
    const policy = base(rules, 1499);
    const program = compile(policy);
    expect(program.some((i) => i.code === 0x05 && i.k > 255)).toBe(true); // a JA over a long left side
    for (let nr = 0; nr < 1500; nr++) expect(runFilter(program, { arch: AUDIT_ARCH.x86_64, nr })).toBe(returnValue(rules.get(nr) as Action));
    expect(runFilter(program, { arch: AUDIT_ARCH.i386, nr: 3 })).toBe(RET.KILL_PROCESS);
  });

  it('tests 64-bit arguments on both words', () => {
    const rules = new Map<number, Rule>([
      [1, { cases: [{ when: [{ arg: 2, bits: 64, op: 'ne', value: 0x1_0000_0005n }], then: 'allow' }], otherwise: { errno: 13 } }],
      [2, { cases: [{ when: [{ arg: 5, bits: 64, op: 'eq', value: 0xffff_ffff_0000_0001n }, { arg: 0, bits: 32, op: 'eq', value: 7n }], then: 'allow' }], otherwise: 'kill' }],
    ]);
    const program = compile(base(rules, 10));
    const run = (nr: number, args: bigint[]) => runFilter(program, { arch: AUDIT_ARCH.x86_64, nr, args });
    expect(run(1, [0n, 0n, 0x1_0000_0005n])).toBe(RET.ERRNO | 13);
    expect(run(1, [0n, 0n, 0x5n])).toBe(RET.ALLOW); // same low word, other high word
    expect(run(1, [0n, 0n, 0x2_0000_0005n])).toBe(RET.ALLOW);
    expect(run(1, [0n, 0n, 0x1_0000_0006n])).toBe(RET.ALLOW);
    expect(run(2, [7n, 0n, 0n, 0n, 0n, 0xffff_ffff_0000_0001n])).toBe(RET.ALLOW);
    expect(run(2, [7n, 0n, 0n, 0n, 0n, 0x1n])).toBe(RET.KILL_PROCESS);
    expect(run(2, [8n, 0n, 0n, 0n, 0n, 0xffff_ffff_0000_0001n])).toBe(RET.KILL_PROCESS);
    expect(run(3, [])).toBe(RET.ERRNO | 1);
    expect(run(11, [])).toBe(RET.ERRNO | 38);
  });

  it('refuses what the kernel would refuse', () => {
    expect(() => compile(base(new Map([[11, 'allow']]), 10))).toThrow(/outside/);
    expect(() => returnValue({ errno: 0 })).toThrow(/errno/);
    expect(() => compile(base(new Map([[1, { cases: [{ when: [{ arg: 6, bits: 32, op: 'eq', value: 0n }], then: 'allow' }], otherwise: 'kill' }]]), 5))).toThrow(/arguments 0–5/);
  });
});

describe('the system call tables', () => {
  it.each([
    ['x86_64', { read: 0, openat: 257, clone: 56, unshare: 272, setns: 308, mount: 165, keyctl: 250, bpf: 321, clone3: 435, userfaultfd: 323, fchmodat2: 452 }],
    ['aarch64', { read: 63, openat: 56, clone: 220, unshare: 97, setns: 268, mount: 40, keyctl: 219, bpf: 280, clone3: 435, userfaultfd: 282, fchmodat2: 452 }],
  ] as const)('%s numbers its calls as the kernel does', (arch, expected) => {
    for (const [name, nr] of Object.entries(expected)) expect((SYSCALL_NUMBERS[arch] as Record<string, number>)[name], name).toBe(nr);
  });
});
