import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { distFile } from '../core/paths.js';

/** e_machine, and the DT_NEEDED entries of an ELF64 little-endian shared library's dynamic section. */
function elf(path: string): { machine: number; needed: number; exports: string[] } {
  const b = readFileSync(path);
  expect(b.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  expect(b[4]).toBe(2); // 64-bit
  expect(b[5]).toBe(1); // little-endian
  const machine = b.readUInt16LE(18);
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  let needed = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (b.readUInt32LE(ph) !== 2 /* PT_DYNAMIC */) continue;
    const off = Number(b.readBigUInt64LE(ph + 8));
    const size = Number(b.readBigUInt64LE(ph + 32));
    for (let d = off; d < off + size; d += 16) if (b.readBigInt64LE(d) === 1n /* DT_NEEDED */) needed++;
  }
  const exports = ['mfs_abi_version', 'mfs_start', 'mfs_reap', 'mfs_check_plan'].filter((name) => b.includes(Buffer.from(`${name}\0`)));
  return { machine, needed, exports };
}

describe('the packaged native start library', () => {
  it.each([
    ['x64', 62],
    ['arm64', 183],
  ])('is built for linux-%s, needs no other library, and exports the start calls', (arch, machine) => {
    const lib = elf(distFile(join('native', `linux-${arch}`, 'mayfly-start.so')));
    expect(lib).toEqual({ machine, needed: 0, exports: ['mfs_abi_version', 'mfs_start', 'mfs_reap', 'mfs_check_plan'] });
  });
});
