/**
 * The settings of a GenericContainer that mayfly cannot carry out, each with what it is and why.
 * `start()` refuses the whole container with all of them at once — a setting is never dropped
 * silently, a test relying on it would pass here and fail under Docker, or the other way round.
 */
import { arch } from 'node:os';
import { MayflyError } from '../core/errors.js';
import { parseSecurityOpt } from '../model/container-spec.js';
import type { CopyToContainerOptions, Ulimits } from './types.js';

export interface RefusableSettings {
  platform?: string | undefined;
  ulimits: Ulimits;
  securityOpts: string[];
  ipcMode?: string | undefined;
  networkMode?: string | undefined;
  autoCleanup: boolean;
  reuse: boolean;
  copyToContainerOptions: CopyToContainerOptions;
  copiesBeforeStart: boolean;
}

const PLATFORM_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): string {
  return `linux/${PLATFORM_ARCH[arch()] ?? arch()}`;
}

export function refusals(s: RefusableSettings): string[] {
  const out: string[] = [];
  if (s.platform !== undefined && s.platform.split('/').slice(0, 2).join('/') !== hostPlatform()) {
    out.push(`withPlatform("${s.platform}"): mayfly runs images of this machine's platform (${hostPlatform()}) natively and has no emulation for others`);
  }
  const ulimits = Object.keys(s.ulimits);
  if (ulimits.length) out.push(`withUlimits(${ulimits.join(', ')}): mayfly does not set a container's resource limits (rlimits); its processes inherit the sandbox's`);
  const so = s.securityOpts.filter((o) => parseSecurityOpt(o) === undefined);
  if (so.length) out.push(`withSecurityOpt(${so.map((o) => `"${o}"`).join(', ')}): mayfly takes no profile files; it knows seccomp=default (its own filter, as Docker's default profile) and seccomp=unconfined, no-new-privileges (always on), apparmor=unconfined and label=disable (no LSM profile is applied)`);
  if (s.ipcMode !== undefined && !['', 'private', 'shareable'].includes(s.ipcMode)) {
    out.push(`withIpcMode("${s.ipcMode}"): every mayfly container has its own IPC namespace (Docker's "private"); sharing the host's or another container's is not supported`);
  }
  if (s.networkMode?.startsWith('container:')) out.push(`withNetworkMode("${s.networkMode}"): joining another container's network namespace is not supported; put both on a Network instead`);
  if (!s.autoCleanup && !s.reuse) out.push('withAutoCleanup(false): a mayfly container ends with the process that started it; to keep one for later runs use withReuse()');
  if (s.copiesBeforeStart && s.copyToContainerOptions.copyUIDGID) out.push("withCopyToContainerOptions({ copyUIDGID: true }): files copied in before start belong to the container's root");
  if (s.copiesBeforeStart && s.copyToContainerOptions.noOverwriteDirNonDir) out.push('withCopyToContainerOptions({ noOverwriteDirNonDir: true }): copies before start are mounted over their targets, whatever is there');
  return out;
}

export function refusedError(image: string, found: string[]): MayflyError {
  return new MayflyError('UNSUPPORTED', `GenericContainer("${image}") asks for what mayfly cannot do:\n${found.map((f) => `  - ${f}`).join('\n')}`, {
    details: { image, unsupported: found },
    hint: 'remove these settings (or run this test under Docker); see "Coming from Testcontainers" in mayfly\'s README',
  });
}
