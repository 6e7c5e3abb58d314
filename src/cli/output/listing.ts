/**
 * Lists (ps, images, network ls, volume ls) and documents (inspect) as Docker prints them: a table
 * by default; `-q` the IDs; `--format json` one JSON object per line; `--format '{{.Names}}'` a
 * Go template per row; `--format 'table {{.ID}}\t{{.Status}}'` a table of those columns with
 * Docker's headers.
 */
import { compileTemplate } from './go-template.js';

/** Docker-style plain tables: columns padded to their widest cell, three spaces apart. */
export function formatTable(rows: string[][]): string {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => `${r.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd()}\n`).join('');
}

export interface ListingSpec {
  /** the default table: [field, header] in order */
  columns: [string, string][];
  /** headers of the other fields, for `table` templates */
  headers?: Record<string, string>;
  /** the field `-q` prints */
  quietField: string;
}

export interface ListingOptions {
  format?: string | undefined;
  quiet?: boolean | undefined;
}

/** The lines to print for these rows (each row: Docker's field names → display strings). */
export function renderListing(rows: Record<string, unknown>[], spec: ListingSpec, opts: ListingOptions): string {
  if (opts.quiet) return rows.map((r) => `${String(r[spec.quietField])}\n`).join('');
  const format = opts.format?.trim() ? opts.format : 'table';
  if (format === 'json') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  if (format === 'table') return formatTable([spec.columns.map(([, h]) => h), ...rows.map((r) => spec.columns.map(([f]) => String(r[f] ?? '')))]);
  const isTable = format.startsWith('table ') || format.startsWith('table\t');
  const body = unescape(isTable ? format.slice(6) : format);
  const template = compileTemplate(body);
  if (!isTable) return rows.map((r) => `${template(r)}\n`).join('');
  const headers: Record<string, string> = { ...spec.headers, ...Object.fromEntries(spec.columns.map(([f, h]) => [f, h])) };
  const headerRow = template(new Proxy(headers, { get: (t, k) => (typeof k === 'string' ? (t[k] ?? k.toUpperCase()) : undefined), has: () => true }));
  return formatTable([headerRow, ...rows.map((r) => template(r))].map((line) => line.split('\t')));
}

/** Documents (inspect): pretty JSON of the list by default, else a template per document. */
export function renderDocuments(docs: unknown[], format: string | undefined): string {
  if (!format || format === 'json') return `${JSON.stringify(docs, null, 4)}\n`;
  const template = compileTemplate(unescape(format));
  return docs.map((d) => `${template(d)}\n`).join('');
}

/** `\t` and `\n` typed in a shell's single quotes mean a tab and a newline, as Docker reads them. */
function unescape(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}
