/**
 * The binary form of a step list, as native/start/plan.h reads it: per step its operation number,
 * its name, and positional integer and string arguments (and a blob, for data such as a BPF
 * program). Small, without a general parser on the C side, and checked there length by length.
 */
import { MayflyError } from '../../core/errors.js';
import { OP, type OpName, type Operation, type Step } from './steps.js';
import { encode, unflatten } from '../seccomp/bpf.js';

interface Args {
  ints: (number | bigint)[];
  strs: string[];
  blob?: Uint8Array;
}

type ArgsOf = { [K in OpName]: (s: Extract<Operation, { op: K }>) => Args };

const nodeOnly = (s: Operation): Args => {
  throw new Error(`step kind ${s.op} runs in the Node shim only`);
};

const CREATE = { none: 0, dir: 1, file: 2 } as const;

// The positions must match the comments on the OP_ numbers in native/start/plan.h.
const ARGS: ArgsOf = {
  unshare: (s) => ({ ints: [s.flags], strs: [] }),
  'loopback-up': () => ({ ints: [], strs: [] }),
  setns: (s) => ({ ints: [s.nstype], strs: [s.path] }),
  'write-file': (s) => ({ ints: [], strs: [s.path, s.data] }),
  mount: (s) => ({
    ints: [s.flags, CREATE[s.create], s.mode, s.readonly ? 1 : 0],
    strs: [s.source ?? '', s.target, s.fstype ?? '', s.data ?? '', s.root ?? ''],
  }),
  symlink: (s) => ({ ints: [], strs: [s.to, s.path, s.root] }),
  'pivot-root': (s) => ({ ints: [], strs: [s.root] }),
  sethostname: (s) => ({ ints: [], strs: [s.name] }),
  'resolve-user': (s) => ({ ints: [], strs: [s.spec] }),
  'mkdir-all': (s) => ({ ints: [s.mode], strs: [s.path] }),
  'limit-caps': (s) => ({ ints: [s.keep.reduce((m, cap) => m | (1n << BigInt(cap)), 0n)], strs: [] }),
  'set-user': (s) => ({ ints: [s.setgroups ? 1 : 0], strs: [] }),
  chdir: (s) => ({ ints: [], strs: [s.path] }),
  'find-executable': (s) => ({ ints: [], strs: [s.command, s.path] }),
  'no-new-privs': () => ({ ints: [], strs: [] }),
  pdeathsig: (s) => ({ ints: [s.signal], strs: [] }),
  umask: (s) => ({ ints: [s.mask], strs: [] }),
  exec: (s) => ({ ints: [s.argv.length], strs: [...s.argv, ...s.env] }),
  mkdir: (s) => ({ ints: [s.mode, s.uid, s.gid], strs: [s.path] }),
  'controlling-terminal': (s) => ({ ints: [], strs: [s.path] }),
  'readonly-path': (s) => ({ ints: [], strs: [s.root, s.path] }),
  'mask-path': (s) => ({ ints: [], strs: [s.root, s.path] }),
  seccomp: (s) => ({ ints: [s.filter.length / 4], strs: [], blob: seccompBlob(s.filter) }),
  'seed-tmpfs': nodeOnly,
};

/**
 * The encoded form of each filter program seen (seccomp/index.ts hands out one array per set of
 * capabilities): encoding one took more time than the rest of a start's plan.
 */
const blobs = new WeakMap<readonly number[], Buffer>();

function seccompBlob(filter: readonly number[]): Buffer {
  let blob = blobs.get(filter);
  if (!blob) blobs.set(filter, (blob = encode(unflatten(filter))));
  return blob;
}

class Writer {
  private buf = Buffer.alloc(4096);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u16(v: number): void {
    this.room(2);
    this.length = this.buf.writeUInt16LE(v, this.length);
  }

  u32(v: number): void {
    this.room(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }

  i64(v: number | bigint): void {
    this.room(8);
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      // two halves: no BigInt made for each of the plan's many small numbers
      this.buf.writeUInt32LE(v >>> 0, this.length);
      this.buf.writeInt32LE(Math.floor(v / 2 ** 32), this.length + 4);
      this.length += 8;
    } else this.length = this.buf.writeBigInt64LE(BigInt(v), this.length);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  string(s: string, what: string): void {
    // C strings end at the first zero byte: one inside would silently cut a path or an argument
    if (s.includes('\0')) throw new MayflyError('INVALID_OPTION', `${what} contains a NUL byte`, { details: { value: s } });
    const n = Buffer.byteLength(s, 'utf8');
    this.u32(n);
    this.room(n + 1);
    this.length += this.buf.write(s, this.length, n, 'utf8');
    this.buf[this.length++] = 0;
  }

  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at);
  }

  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

export function encodeSteps(steps: readonly Step[]): Buffer {
  const w = new Writer();
  w.bytes(Buffer.from('MFS1'));
  w.u32(steps.length);
  w.u32(0); // total length, patched below
  for (const s of steps) {
    const { ints, strs, blob } = (ARGS[s.op] as (s: Step) => Args)(s);
    const start = w.length;
    w.u32(0); // record size, patched below
    w.u16(OP[s.op as keyof typeof OP]);
    w.u16(ints.length);
    w.u16(strs.length);
    w.u16(0);
    w.u32(blob?.length ?? 0);
    w.string(s.step, 'a step name');
    for (const v of ints) w.i64(v);
    for (const v of strs) w.string(v, `an argument of step "${s.step}"`);
    if (blob) w.bytes(blob);
    w.patchU32(start, w.length - start);
  }
  w.patchU32(8, w.length);
  return w.done();
}
