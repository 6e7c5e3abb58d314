/** Docker-style plain tables: columns padded to their widest cell, three spaces apart. */
export function printTable(rows: string[][]): void {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd()}\n`);
}
