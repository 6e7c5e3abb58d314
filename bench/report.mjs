// The peers bench's markdown: the machine and each system's configuration, the targets, then one
// table per scenario (absolute figures, and every row's median divided by mayfly's).
import { summary } from './stats.mjs';

const fmt = (v, unit) => {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (unit === 'MiB') return v.toFixed(v < 10 ? 2 : 1);
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
};

/**
 * One row of a scenario's table: a system's figures (`values`), or why it has none (`failed`).
 * @typedef {{ system: string, label: string, short?: string, values?: number[], failed?: string, floor?: boolean, main?: boolean, peer?: boolean, chart?: boolean, unit?: string, backToBack?: boolean }} Row
 */

/** values → median, p90, n, kept beside the row's other fields. */
export function summarize(section) {
  const rows = section.rows.map((r) => (r.values && !r.failed ? { ...r, ...summary(r.values) } : r));
  const extra = section.extra && { ...section.extra, rows: section.extra.rows.map((r) => (r.values ? { ...r, ...summary(r.values) } : r)) };
  let targets = [];
  try {
    targets = section.targets?.(rows) ?? [];
  } catch (e) {
    targets = [{ goal: '(targets)', text: `not computed: ${e.message}`, met: false }];
  }
  return { ...section, rows, extra, targets };
}

function timeTable(rows, unit) {
  const main = rows.find((r) => r.main && !r.failed);
  const lines = [`| case | median ${unit} | p90 ${unit} | n | ÷ mayfly |`, '|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    if (r.failed) {
      lines.push(`| ${r.label} | failed: ${r.failed.replaceAll('|', '/')} | | | |`);
      continue;
    }
    const ratio = main && main.median > 0 && r !== main ? `${(r.median / main.median).toFixed(2)}×` : r === main ? '1×' : '–';
    const fail = r.failures ? ` (**${r.failures} failed**: ${r.failureSample})` : r.failures === 0 ? ' (0 failed)' : '';
    lines.push(`| ${r.label}${fail} | ${fmt(r.median, unit)} | ${fmt(r.p90, unit)} | ${r.n} | ${ratio} |`);
  }
  return lines.join('\n');
}

function portsTable(rows) {
  const lines = ['| path | throughput MB/s | % of its direct loopback | round trip µs, median | p90 |', '|---|---:|---:|---:|---:|'];
  const mayflyBase = rows.find((r) => r.base);
  const podmanBase = rows.find((r) => r.podmanBase);
  for (const r of rows) {
    const base = r.system === 'podman' ? podmanBase : r.system === 'mayfly' ? mayflyBase : undefined;
    lines.push(`| ${r.label} | ${r.mbps.toFixed(0)} | ${base ? `${((r.mbps / base.mbps) * 100).toFixed(0)}%` : '100%'} | ${r.rtt.median.toFixed(0)} | ${r.rtt.p90.toFixed(0)} |`);
  }
  return lines.join('\n');
}

function leftoversTable(s) {
  const cell = (l) => (l ? `${l.processes} / ${l.state} / ${l.mounts}` : '–');
  const lines = [
    '| system | left after its normal teardown (processes / containers / mounts) | left 5 s after the owning test process got SIGKILL | all gone after the kill in |',
    '|---|---|---|---:|',
  ];
  for (const r of s.killed) {
    const after = s.normal[r.system];
    if (r.failed) lines.push(`| ${r.label} | ${cell(after)} | failed: ${r.failed.replaceAll('|', '/')} | |`);
    else lines.push(`| ${r.label} | ${cell(after)} | ${cell(r.left)} | ${r.cleanMs === undefined ? 'never (still there)' : `${r.cleanMs.toFixed(0)} ms`} |`);
  }
  return lines.join('\n');
}

export function renderMarkdown(report) {
  const out = [];
  out.push(`## mayfly beside its peers — ${report.date}`, '');
  out.push(`Machine: ${report.machine}.`, '');
  if (report.busy) out.push(`**Load:** ${report.busy}`, '');
  out.push('Systems, as configured for this run:', '');
  for (const [name, text] of Object.entries(report.systems)) out.push(`- **${name}**: ${text}`);
  out.push('', `Images: ${report.imagesText}`, '');
  out.push('### Targets', '', '| # | target | this run | met |', '|---:|---|---|:---:|');
  for (const s of report.sections) for (const t of s.targets) out.push(`| ${s.id} | ${t.goal} | ${t.text} | ${t.met ? 'yes' : '**no**'} |`);
  out.push('');
  for (const s of report.sections) {
    out.push(`### ${s.id}. ${s.title}`, '');
    if (s.custom === 'ports') out.push(portsTable(s.rows));
    else if (s.custom === 'text') out.push(s.text);
    else if (s.custom === 'teardown') out.push(...(s.rows.length ? [timeTable(s.rows, 'ms'), ''] : []), leftoversTable(s));
    else out.push(timeTable(s.rows, s.unit));
    if (s.extra) out.push('', `${s.extra.title}:`, '', timeTable(s.extra.rows, s.extra.unit));
    for (const n of s.notes ?? []) out.push('', n);
    out.push('');
  }
  for (const n of report.notes) out.push(`- ${n}`);
  return `${out.join('\n')}\n`;
}
