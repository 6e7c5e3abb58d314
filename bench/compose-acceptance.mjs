// How many real-world compose files `mayfly compose config` accepts, and why it refuses the others.
// Usage: node bench/compose-acceptance.mjs DIR   (DIR holds one project per subdirectory, each with
// its compose file; the files are not part of this repository — fetch a collection of sample
// projects and point this at it). Prints one line per project and a summary grouped by reason.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.argv[2];
if (!root || !existsSync(root)) {
  process.stderr.write('usage: node bench/compose-acceptance.mjs DIR\n');
  process.exit(2);
}
const bin = join(import.meta.dirname, '../bin/mayfly.js');
const home = mkdtempSync(join(tmpdir(), 'mayfly-compose-acceptance-'));
const FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

const rows = [];
for (const project of readdirSync(root).sort()) {
  const dir = join(root, project);
  if (!FILES.some((f) => existsSync(join(dir, f)))) continue;
  const r = spawnSync(process.execPath, [bin, 'compose', 'config'], { cwd: dir, encoding: 'utf8', env: { ...process.env, MAYFLY_HOME: home } });
  // the refusal, on one line: mayfly's message lists each bad field on a line of its own
  const error = r.status === 0 ? '' : r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('warning:')).join(' ').replace(/^mayfly: /, '').replace(`${dir}/`, '') || `exit ${r.status}`;
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:')).length;
  rows.push({ project, ok: r.status === 0, error, warnings });
}
rmSync(home, { recursive: true, force: true });

for (const r of rows) process.stdout.write(`${r.ok ? 'accepted' : 'refused '}  ${r.project}${r.ok ? (r.warnings ? `  (${r.warnings} warnings)` : '') : `  ${r.error}`}\n`);
const accepted = rows.filter((r) => r.ok).length;
process.stdout.write(`\n${accepted} of ${rows.length} accepted\n`);
