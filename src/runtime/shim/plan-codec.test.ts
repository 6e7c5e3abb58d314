import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../../core/errors.js';
import { checkPlan, nativeUnavailable } from '../native/native-start.js';
import type { StartPlan } from './plan.js';
import { encodeSteps } from './plan-codec.js';
import { startSteps, type Step } from './steps.js';

const plan: StartPlan = {
  kind: 'start',
  rootfs: { driver: 'overlay', lowerDirs: ['/l/base'], upperDir: '/c/upper', workDir: '/c/work', target: '/c/rootfs' },
  hostname: 'box',
  network: 'none',
  mounts: [{ kind: 'bind', source: '/h/data', target: '/data', readonly: true, sourceIsDir: true }],
  etcFiles: [],
  init: null,
  fullIdMap: false,
  argv: ['echo', 'ünïcode'],
  env: ['A=1'],
  workingDir: '/',
  user: '0:0',
  setgroups: false,
  limits: { proc: 'bind', sys: 'bind', sethostname: false },
  cgroupProcs: ['/sys/fs/cgroup/x/cgroup.procs'],
  capabilities: [0, 1, 3],
  seccomp: [0x20, 0, 0, 4, 0x06, 0, 0, 0x7fff0000],
  readonlyPaths: ['/proc/sys'],
  maskedPaths: ['/proc/kcore'],
  devpts: null,
};
const steps = startSteps(plan);
// `-t`: the container's /dev/pts is the sandbox's devpts, and the pty becomes the controlling terminal
const ttySteps = startSteps({ ...plan, devpts: '/s/pts', tty: { path: '/dev/pts/0' } });

describe('the serialized plan', () => {
  it('has a header with its step count and length, and one sized record per step', () => {
    const buf = encodeSteps(steps);
    expect(buf.subarray(0, 4).toString()).toBe('MFS1');
    expect(buf.readUInt32LE(4)).toBe(steps.length);
    expect(buf.readUInt32LE(8)).toBe(buf.length);
    let at = 12;
    for (let i = 0; i < steps.length; i++) at += buf.readUInt32LE(at);
    expect(at).toBe(buf.length);
  });

  it('refuses a NUL byte inside a string, which C would cut short', () => {
    const bad: Step[] = [{ step: 'set hostname', op: 'sethostname', name: 'a\0b' }];
    const err = (() => {
      try {
        encodeSteps(bad);
      } catch (e) {
        return e;
      }
    })();
    expect(isMayflyError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain('set hostname');
  });
});

describe.skipIf(nativeUnavailable())('the native decoder', () => {
  it('accepts what the encoder writes', () => {
    expect(checkPlan(encodeSteps(steps))).toBeUndefined();
    expect(checkPlan(encodeSteps([]))).toBeUndefined();
    expect(ttySteps.filter((s) => s.op === 'controlling-terminal')).toEqual([{ step: 'controlling terminal', op: 'controlling-terminal', path: '/dev/pts/0' }]);
    expect(checkPlan(encodeSteps(ttySteps))).toBeUndefined();
  });

  it('refuses damaged plans, saying where', () => {
    const good = encodeSteps(steps);
    const damaged = (f: (b: Buffer) => Buffer) => checkPlan(f(Buffer.from(good)));
    expect(damaged((b) => b.subarray(0, b.length - 1))).toMatch(/length does not match/);
    expect(damaged((b) => (b.write('XXXX', 0), b))).toMatch(/magic/);
    expect(damaged((b) => (b.writeUInt16LE(99, 12 + 4), b))).toMatch(/unknown step kind at byte 12/);
    expect(damaged((b) => (b.writeUInt16LE(0, 12 + 6), b))).toMatch(/too few arguments/);
    expect(damaged((b) => (b.writeUInt32LE(b.readUInt32LE(12) + 4, 12), b))).toMatch(/blob length|bad/);
    // a string whose terminating zero is missing
    const name = 12 + 16;
    expect(damaged((b) => (b.writeUInt32LE(b.readUInt32LE(name) + 1, name), b))).toMatch(/step name|bad/);
    const longer = Buffer.concat([good, Buffer.alloc(4)]);
    longer.writeUInt32LE(longer.length, 8);
    expect(checkPlan(longer)).toMatch(/trailing bytes/);
  });
});
