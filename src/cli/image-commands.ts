/** `mayfly pull` and `mayfly images`. */
import { familiarName, parseReference } from '../image/reference.js';
import { LocalImages } from '../engine/images.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, text } from './command-line/values.js';
import { ago } from './output/durations.js';
import { renderListing } from './output/listing.js';
import { progressPrinter } from './progress.js';
import { withRuntime } from './with-runtime.js';

export async function pullCommand({ flags, args }: ParsedCommand): Promise<number> {
  const ref = args[0]!;
  const platform = text(flags, 'platform');
  return withRuntime(async (rt) => {
    const rec = await rt.pull(ref, { ...(bool(flags, 'quiet') ? {} : { onProgress: progressPrinter() }), ...(platform ? { platform } : {}) });
    process.stdout.write(`${familiarName(parseReference(ref))}: ${rec.id} (${rec.layers.length} layers, ${(rec.size / 1e6).toFixed(1)} MB) from ${rec.source}\n`);
    return 0;
  });
}

const IMAGE_COLUMNS: [string, string][] = [
  ['Repository', 'REPOSITORY'],
  ['Tag', 'TAG'],
  ['ID', 'IMAGE ID'],
  ['CreatedSince', 'CREATED'],
  ['Size', 'SIZE'],
];

/** `mayfly images [REPOSITORY[:TAG]]`: a row per name (an image without one shows as <none>). */
export function imagesCommand({ flags, args }: ParsedCommand): number {
  const noTrunc = bool(flags, 'no-trunc');
  const wanted = args[0] ? parseReference(args[0]) : undefined;
  const wantedTag = args[0] && /:[^/]+$/.test(args[0]) ? wanted?.tag : undefined;
  const rows: Record<string, unknown>[] = [];
  for (const rec of new LocalImages().images()) {
    const id = noTrunc ? rec.id : rec.id.replace(/^sha256:/, '').slice(0, 12);
    const created = rec.config.created ?? rec.pulledAt;
    for (const name of rec.names.length ? rec.names : ['<none>:<none>']) {
      const ref = name.startsWith('<none>') ? undefined : parseReference(name);
      if (wanted && (!ref || ref.registry !== wanted.registry || ref.repository !== wanted.repository || (wantedTag && ref.tag !== wantedTag))) continue;
      const repo = ref ? familiarName({ ...ref, tag: undefined, digest: undefined } as typeof ref).replace(/:latest$/, '') : '<none>';
      rows.push({ Repository: repo, Tag: ref?.tag ?? '<none>', ID: id, Digest: rec.manifestDigest, CreatedAt: created, CreatedSince: ago(created), Size: `${(rec.size / 1e6).toFixed(1)}MB` });
    }
  }
  // -q: each image once
  const quiet = bool(flags, 'quiet');
  const shown = quiet ? rows.filter((r, i) => rows.findIndex((x) => x.ID === r.ID) === i) : rows;
  process.stdout.write(renderListing(shown, { columns: IMAGE_COLUMNS, quietField: 'ID', headers: { Digest: 'DIGEST', CreatedAt: 'CREATED AT' } }, { format: text(flags, 'format'), quiet }));
  return 0;
}
