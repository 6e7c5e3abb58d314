/** `mayfly build` and `mayfly import` (commit needs a running container: containers live in their owner's process). */
import { resolve } from 'node:path';
import { MayflyError } from '../errors.js';
import { Runtime } from '../runtime/runtime.js';
import { parseFlags } from './args.js';

export async function buildCommand(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(
    argv,
    [
      { names: ['-t', '--tag'], kind: 'string', key: 'tag' },
      { names: ['-f', '--file'], kind: 'string', key: 'file' },
      { names: ['--build-arg'], kind: 'list', key: 'args' },
      { names: ['-q', '--quiet'], kind: 'boolean', key: 'quiet' },
    ],
    'build',
  );
  if (rest.length !== 1) throw new MayflyError('INVALID_OPTION', 'usage: mayfly build [-t NAME] [-f Dockerfile] [--build-arg K=V]... CONTEXT');
  const buildArgs: Record<string, string> = {};
  for (const a of (flags.args as string[] | undefined) ?? []) {
    const i = a.indexOf('=');
    if (i <= 0) throw new MayflyError('INVALID_OPTION', `--build-arg expects KEY=VALUE, got "${a}"`);
    buildArgs[a.slice(0, i)] = a.slice(i + 1);
  }
  const log = (s: string) => flags.quiet || process.stderr.write(s);
  const rt = await Runtime.start({ onWarning: (m) => process.stderr.write(`mayfly: warning: ${m}\n`) });
  try {
    const rec = await rt.build({
      context: resolve(rest[0]!),
      ...(flags.file ? { dockerfile: resolve(flags.file as string) } : {}),
      ...(flags.tag ? { tag: flags.tag as string } : {}),
      buildArgs,
      onStep: (s) => log(`step ${s.index}/${s.total}: ${s.text}${s.cached ? '  (cached)' : ''}\n`),
      onOutput: (_stream, data) => log(Buffer.from(data).toString()),
    });
    process.stdout.write(`${rec.id}\n`);
    return 0;
  } finally {
    await rt.close();
  }
}

export async function importCommand(argv: string[]): Promise<number> {
  const { rest } = parseFlags(argv, [], 'import');
  if (rest.length !== 2) throw new MayflyError('INVALID_OPTION', 'usage: mayfly import DIR NAME');
  const rt = await Runtime.start({ onWarning: (m) => process.stderr.write(`mayfly: warning: ${m}\n`) });
  try {
    process.stdout.write(`${(await rt.importRootfs(resolve(rest[0]!), rest[1]!)).id}\n`);
    return 0;
  } finally {
    await rt.close();
  }
}
