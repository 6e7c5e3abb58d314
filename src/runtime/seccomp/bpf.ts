/**
 * Classic BPF as seccomp runs it (linux/filter.h, linux/seccomp.h): the few instructions a filter
 * needs, the seccomp_data layout they read, and the return values that decide a system call.
 */

/** One `struct sock_filter`: opcode, jump offsets if true / if false (0–255), constant. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// instruction classes, sizes, modes, ALU/jump operations and sources
const LD = 0x00;
const ALU = 0x04;
const JMP = 0x05;
const RETURN = 0x06;
const W = 0x00;
const ABS = 0x20;
const AND = 0x50;
const JA = 0x00;
const JEQ = 0x10;
const JGE = 0x30;
const JSET = 0x40;
const K = 0x00;

export const OP = {
  LD_ABS: LD | W | ABS,
  AND_K: ALU | AND | K,
  JA: JMP | JA,
  JEQ_K: JMP | JEQ | K,
  JGE_K: JMP | JGE | K,
  JSET_K: JMP | JSET | K,
  RET_K: RETURN | K,
} as const;

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const MAX_INSNS = 4096;

/** struct seccomp_data: what a filter sees of a system call (little-endian: the low word of an argument first). */
export const DATA = {
  nr: 0,
  arch: 4,
  argLow: (i: number) => 16 + 8 * i,
  argHigh: (i: number) => 20 + 8 * i,
  size: 64,
} as const;

export const RET = {
  KILL_PROCESS: 0x80000000,
  ERRNO: 0x00050000,
  ALLOW: 0x7fff0000,
} as const;

/** AUDIT_ARCH_* values the kernel reports in seccomp_data.arch */
export const AUDIT_ARCH = {
  x86_64: 0xc000003e,
  i386: 0x40000003,
  aarch64: 0xc00000b7,
  arm: 0x40000028,
} as const;

export const stmt = (code: number, k: number): Insn => ({ code, jt: 0, jf: 0, k: k >>> 0 });
export const jump = (code: number, k: number, jt: number, jf: number): Insn => ({ code, jt, jf, k: k >>> 0 });

/**
 * The program as plain numbers, four per instruction (code, jt, jf, k): what a start plan carries, so
 * that whichever process installs it (the Node shim, a native one) only copies them into sock_filter.
 */
export function flatten(program: readonly Insn[]): number[] {
  return program.flatMap((i) => [i.code, i.jt, i.jf, i.k]);
}

export function unflatten(words: readonly number[]): Insn[] {
  if (words.length % 4) throw new Error(`a seccomp program has four numbers per instruction, got ${words.length}`);
  const out: Insn[] = [];
  for (let i = 0; i < words.length; i += 4) out.push({ code: words[i]!, jt: words[i + 1]!, jf: words[i + 2]!, k: words[i + 3]! });
  return out;
}

/** The bytes of a `struct sock_filter[]` in this machine's byte order. */
export function encode(program: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  program.forEach((insn, n) => {
    const at = n * 8;
    if (le) {
      buf.writeUInt16LE(insn.code, at);
      buf.writeUInt32LE(insn.k >>> 0, at + 4);
    } else {
      buf.writeUInt16BE(insn.code, at);
      buf.writeUInt32BE(insn.k >>> 0, at + 4);
    }
    buf.writeUInt8(insn.jt, at + 2);
    buf.writeUInt8(insn.jf, at + 3);
  });
  return buf;
}
