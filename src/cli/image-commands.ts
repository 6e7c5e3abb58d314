/** `mayfly pull` and `mayfly images`. */
import { MayflyError } from '../errors.js';
import { familiarName, parseReference } from '../image/reference.js';
import { ImageStore } from '../image/store/image-store.js';
import { mayflyHome } from '../paths.js';
import { Runtime } from '../runtime/runtime.js';
import { parseFlags } from './args.js';
import { progressPrinter } from './progress.js';
import { printTable } from './table.js';

export async function pullCommand(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, [{ names: ['--platform'], kind: 'string', key: 'platform' }], 'pull');
  const [ref] = rest;
  if (!ref || rest.length > 1) throw new MayflyError('INVALID_OPTION', 'usage: mayfly pull [--platform os/arch[/variant]] IMAGE');
  const rt = await Runtime.start({ onWarning: (m) => process.stderr.write(`mayfly: warning: ${m}\n`) });
  try {
    const rec = await rt.pull(ref, { onProgress: progressPrinter(), ...(flags.platform ? { platform: flags.platform as string } : {}) });
    process.stdout.write(`${familiarName(parseReference(ref))}: ${rec.id} (${rec.layers.length} layers, ${(rec.size / 1e6).toFixed(1)} MB) from ${rec.source}\n`);
    return 0;
  } finally {
    await rt.close();
  }
}

export function imagesCommand(argv: string[]): number {
  const { flags } = parseFlags(argv, [{ names: ['-q', '--quiet'], kind: 'boolean', key: 'quiet' }], 'images');
  const rows: string[][] = [];
  for (const rec of new ImageStore(mayflyHome()).list()) {
    const id = rec.id.replace(/^sha256:/, '').slice(0, 12);
    if (flags.quiet) {
      rows.push([id]);
      continue;
    }
    for (const name of rec.names.length ? rec.names : ['<none>:<none>']) {
      const ref = name.startsWith('<none>') ? undefined : parseReference(name);
      const repo = ref ? familiarName({ ...ref, tag: undefined, digest: undefined } as typeof ref).replace(/:latest$/, '') : '<none>';
      rows.push([repo, ref?.tag ?? '<none>', id, rec.config.created ?? rec.pulledAt, `${(rec.size / 1e6).toFixed(1)} MB`]);
    }
  }
  if (!flags.quiet) rows.unshift(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']);
  printTable(rows);
  return 0;
}
