/**
 * A small seccomp compiler: a policy (what each system call number gets, some depending on their
 * arguments) becomes a classic BPF program. The numbers are split into ranges of equal treatment
 * and searched as a balanced tree, so a call costs ~log2(ranges) comparisons instead of a scan of
 * the whole allow list.
 */
import { DATA, jump, MAX_INSNS, OP, RET, stmt, type Insn } from './bpf.js';

/** What a system call gets: run, fail with an errno (the process goes on), or the process is killed. */
export type Action = 'allow' | 'kill' | { errno: number };

/**
 * A test of one argument. `bits: 32` looks at the low word only — for arguments the kernel reads as
 * an int, whose high word it ignores (a 64-bit test could be dodged through it).
 */
export interface ArgTest {
  arg: number;
  bits: 32 | 64;
  op: 'eq' | 'ne' | 'masked-eq';
  value: bigint;
  /** masked-eq: (arg & mask) == value */
  mask?: bigint;
}

/** The first case whose tests all hold decides; none: `otherwise`. */
export interface Conditional {
  cases: { when: ArgTest[]; then: Action }[];
  otherwise: Action;
}

export type Rule = Action | Conditional;

export interface Policy {
  /** the AUDIT_ARCH_* a call must come from; any other (a 32-bit entry, a foreign ABI) gets `foreignArch` */
  auditArch: number;
  /** numbers with this bit set belong to another ABI of the same arch (x32 on x86_64) */
  foreignAbiBit?: number;
  foreignArch: Action;
  /** rules by system call number */
  rules: ReadonlyMap<number, Rule>;
  /** numbers up to `maxKnown` without a rule */
  otherwise: Action;
  /** the highest number the policy knows; calls above it are newer than the policy */
  maxKnown: number;
  /** calls newer than the policy: ENOSYS lets a C library fall back to an older call */
  unknown: Action;
}

export function returnValue(a: Action): number {
  if (a === 'allow') return RET.ALLOW;
  if (a === 'kill') return RET.KILL_PROCESS;
  if (!Number.isInteger(a.errno) || a.errno < 1 || a.errno > 4095) throw new Error(`errno must be 1–4095, got ${a.errno}`);
  return RET.ERRNO | a.errno;
}

const ret = (a: Action): Insn => stmt(OP.RET_K, returnValue(a));
const isConditional = (r: Rule): r is Conditional => typeof r === 'object' && 'cases' in r;
const sameAction = (a: Rule, b: Rule) => !isConditional(a) && !isConditional(b) && returnValue(a) === returnValue(b);

interface Range {
  lo: number;
  rule: Rule;
}

/** Consecutive numbers with the same simple action merge; a conditional rule stays a range of its own. */
function ranges(p: Policy): Range[] {
  for (const nr of p.rules.keys()) {
    if (!Number.isInteger(nr) || nr < 0 || nr > p.maxKnown) throw new Error(`system call number ${nr} is outside 0–${p.maxKnown}`);
  }
  const out: Range[] = [];
  for (let nr = 0; nr <= p.maxKnown; nr++) {
    const rule = p.rules.get(nr) ?? p.otherwise;
    const last = out.at(-1);
    if (!last || !sameAction(last.rule, rule)) out.push({ lo: nr, rule });
  }
  out.push({ lo: p.maxKnown + 1, rule: p.unknown });
  return out;
}

/** The 32-bit words a test compares: the low word, and the high one for 64-bit tests. */
function words(t: ArgTest): { offset: number; value: number; mask: number | undefined }[] {
  if (t.arg < 0 || t.arg > 5) throw new Error(`system calls have arguments 0–5, not ${t.arg}`);
  const part = (v: bigint, high: boolean) => Number(high ? (v >> 32n) & 0xffffffffn : v & 0xffffffffn);
  const low = { offset: DATA.argLow(t.arg), value: part(t.value, false), mask: t.mask === undefined ? undefined : part(t.mask, false) };
  if (t.bits === 32) return [low];
  return [{ offset: DATA.argHigh(t.arg), value: part(t.value, true), mask: t.mask === undefined ? undefined : part(t.mask, true) }, low];
}

const FAIL = -1;

/**
 * One test as instructions whose `FAIL` jump offsets are patched later. eq and masked-eq hold when
 * every word matches; ne holds when any word differs.
 */
function emitTest(t: ArgTest): Insn[] {
  const ws = words(t);
  const out: Insn[] = [];
  ws.forEach((w, i) => {
    out.push(stmt(OP.LD_ABS, w.offset));
    if (t.op === 'masked-eq') out.push(stmt(OP.AND_K, w.mask ?? 0xffffffff));
    const lastWord = i === ws.length - 1;
    if (t.op === 'ne') {
      // differs: the test holds, skip the remaining words; equal: look at the next word, or fail
      const skip = (ws.length - 1 - i) * 2;
      out.push(lastWord ? jump(OP.JEQ_K, w.value, FAIL, 0) : jump(OP.JEQ_K, w.value, 0, skip));
    } else {
      out.push(jump(OP.JEQ_K, w.value, 0, FAIL));
    }
  });
  return out;
}

function emitRule(rule: Rule): Insn[] {
  if (!isConditional(rule)) return [ret(rule)];
  const out: Insn[] = [];
  for (const c of rule.cases) {
    const block = [...c.when.flatMap(emitTest), ret(c.then)];
    // a failed test goes on with the next case, just after this block
    block.forEach((insn, i) => {
      const to = block.length - i - 1;
      if (to > 255) throw new Error('a conditional rule is too long for a short jump');
      if (insn.jt === FAIL) insn.jt = to;
      if (insn.jf === FAIL) insn.jf = to;
    });
    out.push(...block);
  }
  out.push(ret(rule.otherwise));
  return out;
}

/** A balanced search over the ranges; the accumulator holds the system call number throughout. */
function emitTree(rs: Range[]): Insn[] {
  if (rs.length === 1) return emitRule(rs[0]!.rule);
  const mid = rs.length >> 1;
  const left = emitTree(rs.slice(0, mid));
  const right = emitTree(rs.slice(mid));
  const pivot = rs[mid]!.lo;
  if (left.length <= 255) return [jump(OP.JGE_K, pivot, left.length, 0), ...left, ...right];
  // too far for a conditional jump: true falls through to an unconditional one over the left side
  return [jump(OP.JGE_K, pivot, 0, 1), stmt(OP.JA, left.length), ...left, ...right];
}

export function compile(p: Policy): Insn[] {
  const program: Insn[] = [
    stmt(OP.LD_ABS, DATA.arch),
    jump(OP.JEQ_K, p.auditArch, 1, 0),
    ret(p.foreignArch),
    stmt(OP.LD_ABS, DATA.nr),
  ];
  if (p.foreignAbiBit) program.push(jump(OP.JSET_K, p.foreignAbiBit, 0, 1), ret(p.foreignArch));
  program.push(...emitTree(ranges(p)));
  if (program.length > MAX_INSNS) throw new Error(`the seccomp program has ${program.length} instructions, more than the kernel's ${MAX_INSNS}`);
  return program;
}
