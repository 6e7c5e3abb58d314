/** Overlay's format for deletions in a layer: whiteouts (either form: image/layer/whiteouts.ts) and opaque directories. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isOpaque, isWhiteout } from '../../image/layer/whiteouts.js';

export { isOpaque, isWhiteout };

/** A layer's whiteouts and opaque directories, as paths relative to it. */
export function overlayMarkers(layer: string): { whiteouts: string[]; opaque: string[] } {
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(layer, rel), { withFileTypes: true })) {
      const p = join(rel, e.name);
      if ((e.isCharacterDevice() || e.isFile()) && isWhiteout(join(layer, p))) whiteouts.push(p);
      else if (e.isDirectory()) {
        if (isOpaque(join(layer, p))) opaque.push(p);
        walk(p);
      }
    }
  };
  walk('');
  return { whiteouts, opaque };
}
