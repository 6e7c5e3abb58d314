/**
 * Runs a seccomp program on one system call, as the kernel would: how a policy's compiled form is
 * checked against the policy without installing it (a wrong filter would fail a whole container).
 * Only the instructions the compiler emits are accepted; anything else is a compiler bug.
 */
import { DATA, OP, type Insn } from './bpf.js';

export interface SyscallData {
  nr: number;
  arch: number;
  /** up to six arguments, as the 64-bit values the kernel passes */
  args?: bigint[];
}

function dataWord(d: SyscallData, offset: number): number {
  if (offset === DATA.nr) return d.nr >>> 0;
  if (offset === DATA.arch) return d.arch >>> 0;
  const i = Math.floor((offset - 16) / 8);
  if (offset < 16 || offset >= DATA.size || offset % 4 || i > 5) throw new Error(`load from seccomp_data offset ${offset}`);
  const v = BigInt.asUintN(64, d.args?.[i] ?? 0n);
  return Number(offset === DATA.argLow(i) ? v & 0xffffffffn : v >> 32n);
}

/** The filter's return value for `d` (SECCOMP_RET_*). */
export function runFilter(program: readonly Insn[], d: SyscallData): number {
  let a = 0;
  for (let pc = 0, steps = 0; pc < program.length; pc++, steps++) {
    if (steps > program.length) throw new Error('the program jumps backwards');
    const insn = program[pc]!;
    switch (insn.code) {
      case OP.LD_ABS:
        a = dataWord(d, insn.k);
        break;
      case OP.AND_K:
        a = (a & insn.k) >>> 0;
        break;
      case OP.JA:
        pc += insn.k;
        break;
      case OP.JEQ_K:
        pc += a === insn.k >>> 0 ? insn.jt : insn.jf;
        break;
      case OP.JGE_K:
        pc += a >= insn.k >>> 0 ? insn.jt : insn.jf;
        break;
      case OP.JSET_K:
        pc += (a & insn.k) !== 0 ? insn.jt : insn.jf;
        break;
      case OP.RET_K:
        return insn.k >>> 0;
      default:
        throw new Error(`instruction 0x${insn.code.toString(16)} at ${pc} is not one the compiler emits`);
    }
  }
  throw new Error('the program ran off its end without returning');
}
