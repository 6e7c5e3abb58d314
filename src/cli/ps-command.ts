/** `mayfly ps` (and `container ls`): the containers' records on disk, as Docker lists them. */
import { MayflyError } from '../core/errors.js';
import { formatPorts } from '../model/addresses.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, list, num, text } from './command-line/values.js';
import { isRunning, listContainers, type ListedContainer } from './containers.js';
import { ago, humanDuration } from './output/durations.js';
import { renderListing } from './output/listing.js';
import { bytes } from './output/sizes.js';

function status(c: ListedContainer, now: number): string {
  const since = (iso: string | undefined) => (iso ? humanDuration(now - Date.parse(iso)) : '');
  if (c.status === 'exited') return `Exited (${c.exitCode ?? 0}) ${ago(c.finishedAt, now)}`.trimEnd();
  if (c.status === 'paused') return `Up ${since(c.startedAt)} (Paused)`;
  return c.status === 'running' ? `Up ${since(c.startedAt)}` : 'Created';
}

/** Docker's time format in ps: 2024-05-01 10:00:00 +0000 UTC */
const dockerTime = (iso: string) => `${iso.slice(0, 19).replace('T', ' ')} +0000 UTC`;

/** A container as `ps` shows it, under Docker's field names (for --format). */
function psRow(c: ListedContainer, noTrunc: boolean, now: number): Record<string, unknown> {
  const command = c.command.join(' ');
  const spec = c.spec;
  return {
    ID: noTrunc ? c.id : c.id.slice(0, 12),
    Image: c.image ?? '<rootfs>',
    Command: JSON.stringify(noTrunc || command.length <= 20 ? command : `${command.slice(0, 19)}…`),
    CreatedAt: dockerTime(c.createdAt),
    RunningFor: ago(c.createdAt, now),
    Ports: formatPorts(c.ports ?? []),
    Status: status(c, now),
    State: c.status,
    Names: c.name,
    Labels: Object.entries(spec?.labels ?? {})
      .filter(([k]) => !k.startsWith('mayfly.'))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Mounts: [...(spec?.volumes ?? []).map((v) => v.name), ...(spec?.binds ?? []).map((b) => b.source)].join(','),
    Networks: spec ? (spec.network === 'none' || spec.network === 'host' ? [spec.network] : [spec.network, ...spec.networks.map((n) => n.name)]).join(',') : '',
    Size: '',
  };
}

const PS_COLUMNS: [string, string][] = [
  ['ID', 'CONTAINER ID'],
  ['Image', 'IMAGE'],
  ['Command', 'COMMAND'],
  ['RunningFor', 'CREATED'],
  ['Status', 'STATUS'],
  ['Ports', 'PORTS'],
  ['Names', 'NAMES'],
];

const PS_HEADERS = { State: 'STATE', Labels: 'LABELS', Networks: 'NETWORKS', Mounts: 'MOUNTS', CreatedAt: 'CREATED AT', Size: 'SIZE' };

/** `--filter key=value`, as Docker's ps reads them */
function matchesFilters(c: ListedContainer, filters: string[]): boolean {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0) throw new MayflyError('INVALID_OPTION', `invalid value "${f}" for -f, --filter: expected KEY=VALUE (id, name, label, status, ancestor)`);
    const k = f.slice(0, i);
    if (!['id', 'name', 'label', 'status', 'ancestor'].includes(k)) throw new MayflyError('INVALID_OPTION', `invalid value "${f}" for -f, --filter: unknown filter "${k}" (id, name, label, status, ancestor)`);
    byKey.set(k, [...(byKey.get(k) ?? []), f.slice(i + 1)]);
  }
  const labels = c.spec?.labels ?? {};
  // different keys must all match; values of one key are alternatives (labels: all must match)
  for (const [k, values] of byKey) {
    const ok =
      k === 'label'
        ? values.every((v) => {
            const [lk, lv] = v.includes('=') ? [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)] : [v, undefined];
            return lk in labels && (lv === undefined || labels[lk] === lv);
          })
        : values.some((v) =>
            k === 'id' ? c.id.startsWith(v) : k === 'name' ? c.name.includes(v) : k === 'status' ? c.status === v : (c.image ?? '') === v || (c.image ?? '').startsWith(`${v}:`),
          );
    if (!ok) return false;
  }
  return true;
}

export async function psCommand({ flags }: ParsedCommand): Promise<number> {
  const filters = list(flags, 'filter');
  const last = num(flags, 'last') ?? -1;
  const latest = bool(flags, 'latest');
  const everyState = bool(flags, 'all') || last >= 0 || latest || filters.some((f) => f.startsWith('status='));
  let shown = listContainers().filter((c) => (everyState || isRunning(c)) && matchesFilters(c, filters));
  if (latest) shown = shown.slice(-1);
  else if (last >= 0) shown = shown.slice(-last);
  shown.reverse(); // newest first, as Docker lists them
  const noTrunc = bool(flags, 'no-trunc');
  const now = Date.now();
  const rows = shown.map((c) => psRow(c, noTrunc, now));
  const columns = [...PS_COLUMNS];
  if (bool(flags, 'size') && !bool(flags, 'quiet')) {
    const sizes = await containerSizes(shown.map((c) => c.id));
    for (const r of rows) r.Size = sizes.get(String(r.ID)) ?? '';
    columns.push(['Size', 'SIZE']);
  }
  process.stdout.write(renderListing(rows, { columns, quietField: 'ID', headers: PS_HEADERS }, { format: text(flags, 'format'), quiet: bool(flags, 'quiet') }));
  return 0;
}

/** `ps -s`: the writable layer's size, and the virtual size (that plus the image), as Docker shows them. */
async function containerSizes(ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!ids.length) return out;
  const { keeper } = await import('../keeper/client.js');
  const k = await keeper();
  const sizes = await k.request<{ id: string; rw: number; virtual: number }[]>({ op: 'sizes', containers: ids });
  for (const s of sizes) {
    const row = `${bytes(s.rw)} (virtual ${bytes(s.virtual)})`;
    out.set(s.id, row);
    out.set(s.id.slice(0, 12), row);
  }
  return out;
}
