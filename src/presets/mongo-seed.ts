/**
 * Seed data for `presets.mongo({ seed: dir })`: the folder's files, in name order (byte order, as
 * `LC_ALL=C ls` lists them, the order of the images' /docker-entrypoint-initdb.d):
 *   - `NAME.json`: a document or an array of documents (Extended JSON where the shell has EJSON)
 *     inserted into collection NAME of the preset's database;
 *   - `*.js`: a script run by the shell with `db` set to that database (it may use other ones).
 * Dot files are skipped; anything else (a sub-folder, a `.txt`) is an error rather than silently
 * left out. The files are copied into the container and loaded by one shell run, one generated
 * script that prints each file's name before it, so a failure says which file broke.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';

export type SeedFile = { name: string; kind: 'script' } | { name: string; kind: 'documents'; collection: string };

/** Where the seed folder goes in the container. */
export const SEED_DIR = '/mayfly-seed';
/** The generated loader inside SEED_DIR (a dot file: never a user's seed file). */
export const SEED_LOADER = '.mayfly-seed-loader.js';
export const SEED_MARKER = 'mayfly seed: ';

export function discoverSeedFiles(dir: string): SeedFile[] {
  const files: SeedFile[] = [];
  const problems: string[] = [];
  const names = readdirSync(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const isFile = statSync(join(dir, name)).isFile();
    if (isFile && name.endsWith('.js')) files.push({ name, kind: 'script' });
    else if (isFile && name.endsWith('.json')) {
      const collection = name.slice(0, -'.json'.length);
      const bad = collectionProblem(collection);
      if (bad) problems.push(`${name}: ${bad}`);
      else files.push({ name, kind: 'documents', collection });
    } else problems.push(`${name}: ${isFile ? 'neither .json (documents) nor .js (a script)' : 'not a file (sub-folders are not read)'}`);
  }
  if (problems.length) {
    throw new MayflyError('INVALID_OPTION', `invalid presets.mongo options:\n  seed: ${dir}:\n${problems.map((p) => `    ${p}`).join('\n')}`, {
      hint: 'a seed folder holds COLLECTION.json files (a document or an array of them) and .js scripts, loaded in name order',
      details: { seed: dir, problems },
    });
  }
  return files;
}

/** MongoDB's rules for a collection name that a file name could break. */
function collectionProblem(name: string): string | undefined {
  if (name === '') return 'the collection name (the file name before .json) is empty';
  if (name.includes('$')) return 'a collection name cannot contain "$"';
  if (name.startsWith('system.')) return 'collections named system.* are MongoDB\'s own';
  return undefined;
}

/** The loader: each file in order, read and inserted (documents) or loaded (scripts), its name printed first. */
export function seedLoaderScript(files: SeedFile[]): string {
  const lines = [
    // mongosh reads files through Node's fs and parses Extended JSON; the legacy shell has cat() and JSON
    'function readText(p) { return typeof require === "function" ? require("fs").readFileSync(p, "utf8") : cat(p); }',
    'function parseDocs(text) { return typeof EJSON !== "undefined" ? EJSON.parse(text, { relaxed: true }) : JSON.parse(text); }',
  ];
  for (const f of files) {
    const path = JSON.stringify(`${SEED_DIR}/${f.name}`);
    lines.push(`print(${JSON.stringify(SEED_MARKER + f.name)});`);
    if (f.kind === 'script') lines.push(`load(${path});`);
    else {
      lines.push(
        `(function () { var docs = parseDocs(readText(${path})); if (!Array.isArray(docs)) docs = [docs];`,
        `  if (docs.length) db.getCollection(${JSON.stringify(f.collection)}).insertMany(docs); })();`,
      );
    }
  }
  lines.push(`print(${JSON.stringify(`${SEED_MARKER}done`)});`);
  return lines.join('\n');
}

/** The seed file that was loading when the loader stopped, from what it printed. */
export function failedSeedFile(output: string): string | undefined {
  const names = output
    .split('\n')
    .filter((l) => l.startsWith(SEED_MARKER))
    .map((l) => l.slice(SEED_MARKER.length).trim());
  const last = names[names.length - 1];
  return last === 'done' ? undefined : last;
}
