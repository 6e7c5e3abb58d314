/**
 * Builds are for this host's platform: the predefined platform ARGs (BUILDPLATFORM, TARGETPLATFORM,
 * TARGETOS, TARGETARCH, TARGETVARIANT, BUILDOS, BUILDARCH, BUILDVARIANT) all describe it, and a
 * `FROM --platform=` naming another platform is refused (mayfly does not emulate other CPUs).
 */
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform } from '../image/registry/platform.js';

export function platformArgs(): Record<string, string> {
  const p = hostPlatform();
  const variant = p.variant ?? '';
  // Docker writes linux/amd64 and linux/arm64 without the variant it assumes
  const shown = formatPlatform({ os: p.os, architecture: p.architecture, ...(p.architecture === 'arm64' ? {} : variant ? { variant } : {}) });
  return {
    BUILDPLATFORM: shown,
    BUILDOS: p.os,
    BUILDARCH: p.architecture,
    BUILDVARIANT: variant,
    TARGETPLATFORM: shown,
    TARGETOS: p.os,
    TARGETARCH: p.architecture,
    TARGETVARIANT: variant,
  };
}

/** Whether a platform written in a FROM line is this host's. */
export function isHostPlatform(text: string): boolean {
  const a = normalizePlatform(parsePlatform(text));
  const b = normalizePlatform(hostPlatform());
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}
