/**
 * Tiny static x86_64 programs that make one system call through another ABI — the 32-bit
 * `int 0x80` entry and the x32 numbering — and exit with the negated result's low byte: 1 when
 * refused with EPERM, something else when the call ran. Hand-assembled: no compiler needed.
 */
import { chmodSync, writeFileSync } from 'node:fs';

const BASE = 0x400000;
const HEADERS = 64 + 56;

const EXIT_WITH_NEGATED_EAX = [
  0x89, 0xc7, // mov edi, eax
  0xf7, 0xdf, // neg edi
  0xb8, 0x3c, 0x00, 0x00, 0x00, // mov eax, 60 (exit)
  0x0f, 0x05, // syscall
];

/** getpid through int 0x80 (i386 number 20) */
export const I386_GETPID = [0xb8, 0x14, 0x00, 0x00, 0x00, 0xcd, 0x80, ...EXIT_WITH_NEGATED_EAX];
/** getpid through syscall with the x32 bit (0x40000000 | 39) */
export const X32_GETPID = [0xb8, 0x27, 0x00, 0x00, 0x40, 0x0f, 0x05, ...EXIT_WITH_NEGATED_EAX];

/** An ELF64 executable with one loadable segment holding `code`, written to `path`. */
export function writeElf(path: string, code: number[]): string {
  const size = HEADERS + code.length;
  const b = Buffer.alloc(size);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // magic, 64-bit, little-endian, version 1, System V
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(0x3e, 18); // x86_64
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(BigInt(BASE + HEADERS), 24); // entry
  b.writeBigUInt64LE(64n, 32); // program headers right after this header
  b.writeUInt16LE(64, 52); // header size
  b.writeUInt16LE(56, 54); // program header size
  b.writeUInt16LE(1, 56); // one of them
  b.writeUInt32LE(1, 64); // PT_LOAD
  b.writeUInt32LE(5, 68); // R + X
  b.writeBigUInt64LE(0n, 72); // from file offset 0
  b.writeBigUInt64LE(BigInt(BASE), 80);
  b.writeBigUInt64LE(BigInt(BASE), 88);
  b.writeBigUInt64LE(BigInt(size), 96);
  b.writeBigUInt64LE(BigInt(size), 104);
  b.writeBigUInt64LE(0x1000n, 112);
  b.set(code, HEADERS);
  writeFileSync(path, b);
  chmodSync(path, 0o755);
  return path;
}
