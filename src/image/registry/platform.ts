/**
 * Choosing one manifest out of an image index: os/architecture/variant in Go's names, first match
 * wins, entries of unknown media types ignored (attestations, artifacts).
 */
import { MayflyError } from '../../core/errors.js';
import { isManifestMediaType, type ImageIndex, type IndexEntry } from './media-types.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's process.arch → GOARCH (and the variant Docker assumes for it). */
const NODE_TO_GO: Record<string, Omit<Platform, 'os'>> = {
  x64: { architecture: 'amd64' },
  ia32: { architecture: '386' },
  arm64: { architecture: 'arm64', variant: 'v8' },
  arm: { architecture: 'arm', variant: 'v7' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
  mips: { architecture: 'mips' },
  mipsel: { architecture: 'mipsle' },
  loong64: { architecture: 'loong64' },
};

/**
 * The platform images run on here, in Go's names (linux/amd64, linux/arm64/v8, …). The os is
 * linux whatever Node runs on: containers are Linux images.
 */
export function hostPlatform(arch: string = process.arch, os = 'linux'): Platform {
  const mapped = NODE_TO_GO[arch] ?? { architecture: arch };
  return { os, ...mapped };
}

/** `linux/arm64/v8` → { os, architecture, variant }. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (!os || !architecture || rest.length > 0 || variant === '') {
    throw new MayflyError('INVALID_OPTION', `invalid platform "${text}"`, {
      hint: 'write it as os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8',
    });
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Fill in the variants Go's platform matcher assumes when none is written. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === 'aarch64') architecture = 'arm64';
  if (architecture === 'x86_64' || architecture === 'x86-64') architecture = 'amd64';
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function platformMatches(wanted: Platform, offered: Platform): boolean {
  const w = normalizePlatform(wanted);
  const o = normalizePlatform(offered);
  if (w.os !== o.os || w.architecture !== o.architecture) return false;
  // no variant on either side matches any variant
  return w.variant === undefined || o.variant === undefined || w.variant === o.variant;
}

/**
 * The index entry for `wanted`, or PLATFORM_NOT_FOUND listing what the index offers.
 * `image` names the image in the error (`registry/repo:tag`).
 */
export function selectManifest(index: ImageIndex, wanted: Platform, image: string): IndexEntry {
  const candidates = (index.manifests ?? []).filter(
    // unknown/unknown entries are build attestations, not images
    (m) => isManifestMediaType(m.mediaType) && m.platform?.os && m.platform.architecture && m.platform.os !== 'unknown',
  );
  const found = candidates.find((m) => platformMatches(wanted, m.platform!));
  if (found) return found;
  const available = [...new Set(candidates.map((m) => formatPlatform(m.platform!)))];
  throw new MayflyError(
    'PLATFORM_NOT_FOUND',
    `${image} has no image for ${formatPlatform(wanted)} (available: ${available.join(', ') || 'none'})`,
    {
      hint: available.length
        ? `choose one of the available platforms, e.g. platform: '${available[0]}'`
        : 'the index lists no runnable images',
      details: { image, wanted: formatPlatform(wanted), available },
    },
  );
}
