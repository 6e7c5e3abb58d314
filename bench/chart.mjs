// The peers bench as one SVG a reader can look at: a panel per scenario, a bar per system (median,
// with a whisker to p90), each panel on its own linear scale from zero, mayfly's bar in its own
// colour. Plain SVG 1.1 text, no dependencies; renders in browsers and on GitHub.

const COLORS = { mayfly: '#1f7a4d', podman: '#8a5a9e', testcontainers: '#2f6fb0', 'tc-mayfly': '#5fb08a', floor: '#9a9a9a', skopeo: '#9a9a9a', direct: '#9a9a9a' };
const W = 1000;
const PANEL_W = 480;
const GAP = 40;
const BAR_H = 18;
const BAR_GAP = 8;
const LABEL_W = 170;
const HEAD = 44;

const esc = (s) => String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const num = (v) => (v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** One panel's bars: { label, system, value, p90?, main? }; lower or higher is better per `better`. */
function panel(x, y, title, unit, better, bars, what = 'median (bar) and p90 (whisker)') {
  const max = niceMax(Math.max(...bars.map((b) => Math.max(b.p90 ?? 0, b.value))));
  const plotW = PANEL_W - LABEL_W - 60;
  const h = HEAD + bars.length * (BAR_H + BAR_GAP) + 26;
  const parts = [`<g transform="translate(${x},${y})">`];
  parts.push(`<text x="0" y="16" class="t">${esc(title)}</text>`);
  parts.push(`<text x="0" y="33" class="s">${esc(unit)}, ${esc(what)}; ${better} is better</text>`);
  bars.forEach((b, i) => {
    const by = HEAD + i * (BAR_H + BAR_GAP);
    const w = Math.max(1, (Math.max(0, b.value) / max) * plotW);
    parts.push(`<text x="${LABEL_W - 8}" y="${by + BAR_H - 5}" class="l" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLORS[b.system] ?? '#777'}"${b.main ? '' : ' fill-opacity="0.85"'}/>`);
    if (b.p90 !== undefined && b.p90 > b.value) {
      const px = LABEL_W + (b.p90 / max) * plotW;
      parts.push(`<line x1="${LABEL_W + w}" y1="${by + BAR_H / 2}" x2="${px.toFixed(1)}" y2="${by + BAR_H / 2}" class="w"/><line x1="${px.toFixed(1)}" y1="${by + 4}" x2="${px.toFixed(1)}" y2="${by + BAR_H - 4}" class="w"/>`);
    }
    const tx = LABEL_W + Math.max(w, b.p90 ? (b.p90 / max) * plotW : 0) + 6;
    parts.push(`<text x="${tx.toFixed(1)}" y="${by + BAR_H - 5}" class="v">${esc(num(b.value))}${b.note ? ` ${esc(b.note)}` : ''}</text>`);
  });
  const axisY = HEAD + bars.length * (BAR_H + BAR_GAP);
  parts.push(`<line x1="${LABEL_W}" y1="${axisY}" x2="${LABEL_W + plotW}" y2="${axisY}" class="a"/>`);
  for (const f of [0, 0.5, 1]) {
    const ax = LABEL_W + f * plotW;
    parts.push(`<text x="${ax.toFixed(1)}" y="${axisY + 14}" class="s" text-anchor="middle">${esc(num(f * max))}</text>`);
  }
  parts.push('</g>');
  return { svg: parts.join(''), h };
}

/** The bars each scenario shows: rows not marked `chart: false`, by their short names. */
function barsOf(section) {
  if (section.custom === 'ports') {
    return section.rows.map((r) => ({ label: r.short ?? r.system, system: r.system, value: r.mbps, main: r.main }));
  }
  return section.rows
    .filter((r) => !r.failed && r.chart !== false)
    .map((r) => ({ label: r.short ?? r.system, system: r.system, value: r.median, p90: r.p90, main: r.main, note: r.failures ? `(${r.failures} failed)` : '' }));
}

export function renderChart(report) {
  const panels = [];
  for (const s of report.sections) {
    const bars = barsOf(s);
    if (!bars.length) continue;
    const better = s.custom === 'ports' ? 'higher' : 'lower';
    const unit = s.custom === 'ports' ? 'MB/s' : s.unit;
    panels.push({ title: `${s.id}. ${s.shortTitle ?? s.title}`, unit, better, bars, what: s.custom === 'ports' ? 'median of 3 transfers' : undefined });
    if (s.extra && s.id === 4) panels.push({ title: `${s.id}. peak memory while starting them (PSS sum)`, unit: 'MiB', better: 'lower', bars: barsOf(s.extra) });
  }
  const out = [];
  let y = 70;
  for (let i = 0; i < panels.length; i += 2) {
    const row = panels.slice(i, i + 2).map((p, j) => panel(j * (PANEL_W + GAP), y, p.title, p.unit, p.better, p.bars, p.what));
    out.push(...row.map((r) => r.svg));
    y += Math.max(...row.map((r) => r.h)) + 24;
  }
  const legend = Object.entries({ mayfly: 'mayfly', podman: 'podman', testcontainers: 'Testcontainers over podman', 'tc-mayfly': 'Testcontainers over mayfly’s socket', floor: 'baseline (unshare floor, skopeo, direct loopback)' })
    .map(([k, v], i) => `<rect x="${i * 195}" y="44" width="12" height="12" fill="${COLORS[k]}"/><text x="${i * 195 + 18}" y="54" class="l">${esc(v)}</text>`)
    .join('');
  const h = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.t{font-size:14px;font-weight:bold;fill:#222}.s{font-size:11px;fill:#666}.l{font-size:12px;fill:#333}.v{font-size:11px;fill:#222}.w{stroke:#444;stroke-width:1}.a{stroke:#999;stroke-width:1}</style>',
    `<rect width="${W}" height="${h}" fill="#fff"/>`,
    `<text x="0" y="20" class="t" style="font-size:17px">${esc(`mayfly beside its peers — ${report.date}`)}</text>`,
    `<text x="0" y="36" class="s">${esc(report.machineShort)}</text>`,
    legend,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
