/**
 * `mayfly system check [--repair] [--quick] [--json]`: is the store whole? Digests of every blob,
 * every record's references, names, and leftovers of installs that died. Exit 0 when clean (after
 * the repair, with --repair), 1 when problems remain.
 */
import { LocalImages } from '../engine/images.js';
import { Runtime } from '../engine/runtime.js';
import type { StoreProblem, StoreReport } from '../image/store/check-store.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool } from './command-line/values.js';

function summary(r: StoreReport): string {
  return `${r.images} image(s), ${r.layers} layer(s), ${r.blobs} blob(s) (${r.blobsVerified} hashed); unreferenced: ${r.unreferenced.layers} layer(s), ${r.unreferenced.blobs} blob(s) (mayfly image prune)`;
}

const line = (p: StoreProblem) => `  ✗ ${p.kind}: ${p.message}`;

export async function systemCheckCommand({ flags: f }: ParsedCommand): Promise<number> {
  const flags = { repair: bool(f, 'repair'), quick: bool(f, 'quick'), json: bool(f, 'json') };
  const opts = { verifyBlobs: !flags.quick };
  if (!flags.repair) {
    const report = await new LocalImages().check(opts);
    if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write([`store: ${summary(report)}`, ...report.problems.map(line), report.problems.length ? `${report.problems.length} problem(s): mayfly system check --repair` : 'no problems'].join('\n') + '\n');
    return report.problems.length ? 1 : 0;
  }
  // a sandbox: it deletes layer directories, and sweeps the containers of dead sandboxes as it starts
  const runtime = await Runtime.start({ onWarning: (m) => process.stderr.write(`mayfly: warning: ${m}\n`) });
  try {
    const { before, plan, after } = await runtime.checkStore(opts);
    if (flags.json) process.stdout.write(`${JSON.stringify({ before, plan, after }, null, 2)}\n`);
    else {
      const done = [
        ...plan.forget.map((id) => `  forgot the broken image ${id.slice(0, 19)}`),
        ...plan.records.map((f) => `  removed the unreadable record ${f}`),
        ...plan.names.map((n) => `  dropped the dangling name ${n}`),
        ...plan.renames.map((r) => `  recorded the name ${r.name} in ${r.id.slice(0, 19)}`),
        ...plan.paths.map((p) => `  deleted ${p}`),
      ];
      process.stdout.write([`store: ${summary(before)}`, ...before.problems.map(line), ...(done.length ? ['repaired:', ...done] : []), after.problems.length ? `${after.problems.length} problem(s) remain:` : 'no problems', ...after.problems.map(line)].join('\n') + '\n');
    }
    return after.problems.length ? 1 : 0;
  } finally {
    await runtime.close();
  }
}
