/**
 * COPY and ADD: the sources from the build context, placed at their destination inside a fresh
 * staging directory that then becomes a layer. Runs in the sandbox so that --chown can give files
 * to any user of the image. Sources never come from outside the context.
 */
import { existsSync, mkdirSync, mkdtempSync, realpathSync, statSync } from 'node:fs';
import { basename, join, posix, relative, resolve } from 'node:path';
import { MayflyError } from '../../errors.js';
import { runTool } from '../../host-tool.js';

export interface StageCopyOptions {
  context: string;
  sources: string[];
  /** absolute path in the image */
  dest: string;
  uid: number;
  gid: number;
  /** ADD: local tar archives are unpacked at the destination */
  extractArchives: boolean;
  /** where staging directories are made (on the layer store's file system, so a rename moves it) */
  stagingRoot: string;
}

/** The source inside the context, refusing `..` and symlinks that lead out of it. */
export function contextPath(context: string, source: string): string {
  const root = realpathSync(context);
  const p = resolve(root, source);
  const inside = (x: string) => x === root || !relative(root, x).startsWith('..');
  if (!inside(p) || (existsSync(p) && !inside(realpathSync(p)))) {
    throw new MayflyError('INVALID_OPTION', `COPY source ${source} is outside the build context ${context}`);
  }
  if (!existsSync(p)) throw new MayflyError('INVALID_OPTION', `COPY source ${source} does not exist in the build context ${context}`);
  if (/[*?[]/.test(source)) throw new MayflyError('INVALID_OPTION', `COPY source ${source}: wildcards are not supported`);
  return p;
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.xz|tar\.bz2)$/;

export async function stageCopy(o: StageCopyOptions): Promise<string> {
  const staging = mkdtempSync(join(o.stagingRoot, '.stage-'));
  const sources = o.sources.map((s) => contextPath(o.context, s));
  const destIsDir = o.dest.endsWith('/') || sources.length > 1 || (sources.length === 1 && statSync(sources[0]!).isDirectory());
  const destInStaging = join(staging, posix.normalize(o.dest));
  const destDir = destIsDir ? destInStaging : join(destInStaging, '..');
  mkdirSync(destDir, { recursive: true, mode: 0o755 });
  const copied: string[] = [];
  for (const src of sources) {
    if (statSync(src).isDirectory()) {
      await runTool('cp', ['-R', '--preserve=mode,timestamps,links', '--no-dereference', '-T', src, destDir]);
      copied.push(destDir);
    } else if (o.extractArchives && ARCHIVE.test(src)) {
      await runTool('tar', ['-x', '-f', src, '-C', destDir, '--no-same-owner']);
      copied.push(destDir);
    } else {
      const target = destIsDir ? join(destDir, basename(src)) : destInStaging;
      await runTool('cp', ['--preserve=mode,timestamps', src, target]);
      copied.push(target);
    }
  }
  // COPY gives files to root unless --chown says otherwise, whoever owned them in the context
  for (const p of new Set(copied)) await runTool('chown', ['-R', '-h', `${o.uid}:${o.gid}`, p]);
  return staging;
}
