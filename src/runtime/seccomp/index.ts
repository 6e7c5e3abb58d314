/**
 * The seccomp program a container's start plan carries: the default policy for its capabilities,
 * compiled for this machine's architecture, as plain numbers (bpf.ts `flatten`). Compiled once per
 * distinct capability set.
 */
import type { CapabilityName } from '../../model/capabilities.js';
import { flatten } from './bpf.js';
import { compile } from './compile.js';
import { defaultPolicy, type SeccompArch } from './default-profile.js';

export { flatten, unflatten, encode } from './bpf.js';
export type { SeccompArch } from './default-profile.js';

const ARCHES: Partial<Record<NodeJS.Architecture, SeccompArch>> = { x64: 'x86_64', arm64: 'aarch64' };

/** The filter's architecture for Node's `process.arch`; undefined where mayfly has no system call table. */
export function seccompArch(arch: NodeJS.Architecture = process.arch): SeccompArch | undefined {
  return ARCHES[arch];
}

const cache = new Map<string, number[]>();

/** The default filter for a container keeping `caps`, as [code, jt, jf, k] quadruples. */
export function defaultFilter(arch: SeccompArch, caps: readonly CapabilityName[]): number[] {
  const key = `${arch}:${[...caps].sort().join(',')}`;
  let program = cache.get(key);
  if (!program) cache.set(key, (program = flatten(compile(defaultPolicy(arch, new Set(caps))))));
  return program;
}
