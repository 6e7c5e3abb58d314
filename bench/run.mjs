// npm run bench: every benchmark, each printing its table and writing it to bench/results/.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

for (const b of ['runtime-start.mjs', 'pull.mjs', 'ports.mjs']) {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, b)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
