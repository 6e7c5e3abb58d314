/** `mayfly volume create|ls|inspect|rm|prune`: named volumes of this MAYFLY_HOME. */
import { randomBytes } from 'node:crypto';
import { mayflyHome } from '../core/paths.js';
import { layoutOf } from '../model/layout.js';
import { createVolume, listVolumes } from '../runtime/volumes.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, text } from './command-line/values.js';
import { renderListing } from './output/listing.js';
import { withRuntime } from './with-runtime.js';

const layout = () => layoutOf(mayflyHome());

export function volumeCreate({ flags, args }: ParsedCommand): number {
  // Docker names an unnamed volume with 64 hex digits
  const name = args[0] ?? text(flags, 'name') ?? randomBytes(32).toString('hex');
  process.stdout.write(`${createVolume(layout(), name).name}\n`);
  return 0;
}

export function volumeLs({ flags }: ParsedCommand): number {
  const rows = listVolumes(layout()).map((v) => ({ Driver: 'local', Name: v.name, Mountpoint: v.mountpoint, Scope: 'local', Labels: '', CreatedAt: v.createdAt }));
  const columns: [string, string][] = [
    ['Driver', 'DRIVER'],
    ['Name', 'VOLUME NAME'],
  ];
  process.stdout.write(renderListing(rows, { columns, quietField: 'Name' }, { format: text(flags, 'format'), quiet: bool(flags, 'quiet') }));
  return 0;
}

export async function volumeRm({ flags, args }: ParsedCommand): Promise<number> {
  const removed = await withRuntime((rt) => rt.removeVolumes(args, { force: bool(flags, 'force') }));
  for (const n of removed) process.stdout.write(`${n}\n`);
  return 0;
}

export async function volumePrune(): Promise<number> {
  const removed = await withRuntime((rt) => rt.pruneVolumes());
  for (const n of removed) process.stdout.write(`${n}\n`);
  return 0;
}
