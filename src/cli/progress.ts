/**
 * Pull and push progress for a terminal: one line per layer, redrawn in place when stderr is a TTY; on a
 * pipe (CI logs) only phase changes are printed, so logs stay short.
 */
/** A pull's or a push's progress: the item (a short digest, 'manifest') and what happens to it. */
export interface Progress {
  item: string;
  phase: string;
  received?: number;
  total?: number;
}

const WIDTH = 24;

function bar(received = 0, total = 0): string {
  if (!total) return ''.padEnd(WIDTH + 2);
  const filled = Math.min(WIDTH, Math.round((received / total) * WIDTH));
  return `[${'='.repeat(filled)}${' '.repeat(WIDTH - filled)}]`;
}

const mb = (n = 0) => `${(n / 1e6).toFixed(1)} MB`;

export function progressPrinter(out: NodeJS.WriteStream = process.stderr): (p: Progress) => void {
  const items = new Map<string, Progress>();
  const lastPhase = new Map<string, string>();
  let drawn = 0;
  const line = (p: Progress) => {
    const size = p.phase === 'downloading' ? `${bar(p.received, p.total)} ${mb(p.received)}/${mb(p.total)}` : p.total ? mb(p.total) : '';
    return `${p.item.padEnd(12)}  ${p.phase.padEnd(11)} ${size}`;
  };
  return (p) => {
    items.set(p.item, p);
    if (!out.isTTY) {
      if (lastPhase.get(p.item) !== p.phase) out.write(`${line(p)}\n`);
      lastPhase.set(p.item, p.phase);
      return;
    }
    if (drawn) out.write(`\x1b[${drawn}A`);
    for (const item of items.values()) out.write(`\x1b[2K${line(item)}\n`);
    drawn = items.size;
  };
}
