#!/usr/bin/env node
// The shape of src/: imports point one way, down this list of layers, and no files import each
// other in a circle. Run by `npm test`; prints each offending import and exits 1.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// lowest first; a folder may import its own layer and any layer below
const LAYERS = [
  ['core'],
  ['sys'],
  ['model'],
  ['image'],
  ['network'],
  ['runtime'],
  ['dockerfile'],
  ['engine'],
  ['doctor', 'keeper', 'api'],
  ['harness'],
  ['presets', 'integrations', 'compose', 'testcontainers'],
  ['cli', 'processes'],
  ['index.ts'],
];

const root = resolve(import.meta.dirname, '..', 'src');
const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i])));

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const top = (file) => relative(root, file).split('/')[0];
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

const graph = new Map();
const problems = [];
for (const file of files(root)) {
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(file), (m[1] ?? m[2]).replace(/\.js$/, '.ts'));
    if (!target.startsWith(root + '/')) continue;
    deps.push(target);
    const [from, to] = [top(file), top(target)];
    if (!layerOf.has(from)) problems.push(`${relative(root, file)}: its folder "${from}" has no place in LAYERS (scripts/check-imports.mjs)`);
    else if (!layerOf.has(to)) problems.push(`${relative(root, file)} imports ${relative(root, target)}, whose folder "${to}" has no place in LAYERS`);
    else if (layerOf.get(to) > layerOf.get(from)) problems.push(`${relative(root, file)} → ${relative(root, target)}: "${from}" may not import "${to}", which stands above it`);
  }
  graph.set(file, deps);
}

// circles: strongly connected components of more than one file (Tarjan)
let index = 0;
const stack = [];
const meta = new Map();
function visit(v) {
  meta.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!meta.has(w)) {
      visit(w);
      meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
    } else if (meta.get(w).onStack) meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
  }
  if (meta.get(v).low === meta.get(v).index) {
    const scc = [];
    let w;
    do {
      w = stack.pop();
      meta.get(w).onStack = false;
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) problems.push(`a circle of imports: ${scc.map((f) => relative(root, f)).join(' ↔ ')}`);
  }
}
for (const v of graph.keys()) if (!meta.has(v)) visit(v);

if (problems.length) {
  console.error(`check-imports: ${problems.length} import(s) break the shape of src/ (layers, lowest first: ${LAYERS.map((l) => l.join('|')).join(' → ')})`);
  for (const p of [...new Set(problems)]) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-imports: ${graph.size} modules, imports point down ${LAYERS.length} layers, no circles`);
