// Median and p90 (nearest rank) of a list of milliseconds, and a markdown table printer.
export function summary(values) {
  const v = [...values].sort((a, b) => a - b);
  const at = (q) => v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)];
  return { median: at(0.5), p90: at(0.9), n: v.length };
}

export async function timeRuns(n, warmup, fn) {
  for (let i = 0; i < warmup; i++) await fn();
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export function table(rows) {
  const lines = ['| case | median ms | p90 ms | n | vs floor | vs podman |', '|---|---:|---:|---:|---:|---:|'];
  const floor = rows.find((r) => r.floor)?.median;
  const podman = rows.find((r) => r.podman)?.median;
  for (const r of rows) {
    if (r.failed) {
      lines.push(`| ${r.label} | ${r.failed} | | | | |`);
      continue;
    }
    const ratio = (base) => (base ? `${(r.median / base).toFixed(2)}×` : '–');
    lines.push(`| ${r.label} | ${r.median.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.n} | ${ratio(floor)} | ${ratio(podman)} |`);
  }
  return lines.join('\n');
}
