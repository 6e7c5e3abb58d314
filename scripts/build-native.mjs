#!/usr/bin/env node
// Builds mayfly's native start library (native/start/*.c) for linux-x64 and linux-arm64 into
// dist/native/linux-ARCH/mayfly-start.so. The library uses no C library at all (raw system calls),
// so one build per architecture loads into any Node, glibc or musl. Part of `npm run build`; the
// compilers come from scripts/system-packages.sh (gcc, gcc-aarch64-linux-gnu).
//   node scripts/build-native.mjs            every architecture
//   MAYFLY_NATIVE_ARCHES=x64 node ...        only these (comma-separated)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { arch } from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(repo, 'native/start');
const sources = readdirSync(src).filter((f) => f.endsWith('.c')).sort().map((f) => join(src, f));
const abiCheck = join(src, 'check/kernel-abi.c');
const inputs = [...sources, ...readdirSync(src).filter((f) => f.endsWith('.h')).map((f) => join(src, f)), abiCheck, fileURLToPath(import.meta.url)];

const TARGETS = {
  x64: { compilers: arch === 'x64' ? ['gcc', 'x86_64-linux-gnu-gcc'] : ['x86_64-linux-gnu-gcc'], pkg: 'gcc-x86-64-linux-gnu', flags: [] },
  arm64: { compilers: arch === 'arm64' ? ['gcc', 'aarch64-linux-gnu-gcc'] : ['aarch64-linux-gnu-gcc'], pkg: 'gcc-aarch64-linux-gnu', flags: ['-mno-outline-atomics'] },
};

const FLAGS = [
  '-std=gnu11', '-O2', '-fPIC', '-shared', '-nostdlib', '-ffreestanding', '-fno-builtin',
  '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-fvisibility=hidden',
  '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
  // every symbol must be resolved inside the library: there is no libc to find it in
  '-Wl,-z,defs', '-Wl,-z,noexecstack', '-Wl,--build-id=none', '-Wl,--hash-style=both',
];

function found(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

const mtime = (f) => statSync(f).mtimeMs;
const wanted = (process.env.MAYFLY_NATIVE_ARCHES ?? Object.keys(TARGETS).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
let failed = false;
for (const name of wanted) {
  const target = TARGETS[name];
  if (!target) {
    console.error(`build-native: unknown architecture ${name} (known: ${Object.keys(TARGETS).join(', ')})`);
    process.exit(2);
  }
  const out = join(repo, 'dist/native', `linux-${name}`, 'mayfly-start.so');
  if (existsSync(out) && inputs.every((f) => mtime(f) <= mtime(out))) continue;
  const cc = target.compilers.find(found);
  if (!cc) {
    console.error(`build-native: no C compiler for linux-${name} (tried ${target.compilers.join(', ')}): install ${target.pkg} (scripts/system-packages.sh)`);
    failed = true;
    continue;
  }
  // the hand-written system call numbers and structures against the target's kernel headers,
  // where the compiler has them (a bare cross compiler may not)
  const check = spawnSync(cc, ['-fsyntax-only', '-ffreestanding', ...target.flags, abiCheck], { encoding: 'utf8' });
  if (check.status !== 0) {
    if (/asm\/unistd\.h|linux\/stat\.h|asm\/statfs\.h|stddef\.h/.test(check.stderr) && /No such file/.test(check.stderr)) {
      console.warn(`build-native: linux-${name}: no kernel headers for ${cc}, system call numbers not checked`);
    } else {
      process.stderr.write(check.stderr);
      console.error(`build-native: linux-${name}: native/start/sys.h does not match the kernel's ABI`);
      failed = true;
      continue;
    }
  }
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp`;
  try {
    execFileSync(cc, [...FLAGS, ...target.flags, '-o', tmp, ...sources], { stdio: 'inherit' });
  } catch {
    console.error(`build-native: compiling for linux-${name} failed (the compiler said why above)`);
    failed = true;
    continue;
  }
  renameSync(tmp, out);
  console.log(`build-native: ${out.slice(repo.length + 1)} (${cc})`);
}
process.exit(failed ? 1 : 0);
