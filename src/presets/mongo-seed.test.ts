import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { isMayflyError } from '../core/errors.js';
import { discoverSeedFiles, failedSeedFile, SEED_DIR, seedLoaderScript } from './mongo-seed.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function folder(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'mayfly-seed-'));
  dirs.push(d);
  for (const [name, content] of Object.entries(files)) {
    if (name.endsWith('/')) mkdirSync(join(d, name));
    else writeFileSync(join(d, name), content);
  }
  return d;
}

describe('discoverSeedFiles', () => {
  it('orders by bytes, as LC_ALL=C ls (capitals and digits before lowercase); .json names a collection; dot files are skipped', () => {
    const d = folder({ 'b.json': '[]', '10-late.js': '', '02-early.js': '', 'Users.json': '{}', 'a.b.json': '[]', '.hidden.txt': '' });
    expect(discoverSeedFiles(d)).toEqual([
      { name: '02-early.js', kind: 'script' },
      { name: '10-late.js', kind: 'script' },
      { name: 'Users.json', kind: 'documents', collection: 'Users' },
      { name: 'a.b.json', kind: 'documents', collection: 'a.b' },
      { name: 'b.json', kind: 'documents', collection: 'b' },
    ]);
  });

  it('lists every file it cannot load, rather than leaving any out silently', () => {
    const d = folder({ 'notes.txt': '', 'nested/': '', '$bad.json': '[]', 'system.users.json': '[]', '.json': '', 'ok.json': '[]' });
    try {
      discoverSeedFiles(d);
      expect.unreachable();
    } catch (e) {
      expect(isMayflyError(e, 'INVALID_OPTION')).toBe(true);
      const m = (e as Error).message;
      expect(m).toContain('$bad.json: a collection name cannot contain "$"');
      expect(m).toContain('nested: not a file');
      expect(m).toContain('notes.txt: neither .json (documents) nor .js (a script)');
      expect(m).toContain("system.users.json: collections named system.* are MongoDB's own");
      expect(m).not.toContain('ok.json');
      expect(m).not.toContain('.json: the collection name'); // a dot file, skipped
    }
  });
});

/** Runs the loader as a shell would, against a fake database: what was inserted and loaded, in order. */
function runLoader(script: string, files: Record<string, string>, shell: 'mongosh' | 'legacy'): string[] {
  const events: string[] = [];
  const read = (p: string) => {
    const name = p.slice(SEED_DIR.length + 1);
    if (!(name in files)) throw new Error(`no file ${p}`);
    return files[name]!;
  };
  const context: Record<string, unknown> = {
    print: (s: string) => events.push(`print ${s}`),
    load: (p: string) => events.push(`load ${p}`),
    db: { getCollection: (name: string) => ({ insertMany: (docs: unknown[]) => events.push(`insert ${name} ${JSON.stringify(docs)}`) }) },
  };
  if (shell === 'mongosh') {
    context.require = (m: string) => (m === 'fs' ? { readFileSync: read } : undefined);
    context.EJSON = { parse: (t: string) => JSON.parse(t.replace('{"$numberLong":"7"}', '7')) };
  } else {
    context.cat = read;
  }
  runInNewContext(script, context);
  return events;
}

describe('seedLoaderScript', () => {
  const files = { 'a.js': '', 'one.json': '{"n":1}', 'many.json': '[{"n":{"$numberLong":"7"}},{"n":3}]', 'empty.json': '[]' };
  const order = [
    { name: 'a.js', kind: 'script' as const },
    { name: 'empty.json', kind: 'documents' as const, collection: 'empty' },
    { name: 'many.json', kind: 'documents' as const, collection: 'many' },
    { name: 'one.json', kind: 'documents' as const, collection: 'one' },
  ];

  it('in mongosh: Extended JSON through fs and EJSON; one document or an array; each file announced first', () => {
    expect(runLoader(seedLoaderScript(order), files, 'mongosh')).toEqual([
      'print mayfly seed: a.js',
      `load ${SEED_DIR}/a.js`,
      'print mayfly seed: empty.json',
      'print mayfly seed: many.json',
      'insert many [{"n":7},{"n":3}]',
      'print mayfly seed: one.json',
      'insert one [{"n":1}]',
      'print mayfly seed: done',
    ]);
  });

  it('in the legacy shell: cat() and JSON', () => {
    expect(runLoader(seedLoaderScript(order), { ...files, 'many.json': '[{"n":2}]' }, 'legacy')).toContain('insert many [{"n":2}]');
  });

  it('a failure is traced to the file announced last', () => {
    expect(failedSeedFile('mayfly seed: a.js\nmayfly seed: b.json\nSyntaxError: Unexpected token\n')).toBe('b.json');
    expect(failedSeedFile('mayfly seed: a.js\nmayfly seed: done\n')).toBeUndefined();
    expect(failedSeedFile('MongoNetworkError: connect ECONNREFUSED\n')).toBeUndefined();
  });
});
