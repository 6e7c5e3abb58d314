/** `mayfly search TERM` (or REGISTRY/TERM): Docker Hub's search, or a registry's catalog. */
import { mayflyHome } from '../core/paths.js';
import { searchImages } from '../image/search.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, num, text } from './command-line/values.js';
import { renderListing } from './output/listing.js';

export async function searchCommand({ flags, args }: ParsedCommand): Promise<number> {
  const results = await searchImages(args[0]!, { limit: num(flags, 'limit') ?? 25, configFile: `${mayflyHome()}/config.json` });
  const noTrunc = bool(flags, 'no-trunc');
  const rows = results.map((r) => ({
    Name: r.name,
    Description: noTrunc || r.description.length <= 45 ? r.description : `${r.description.slice(0, 44)}…`,
    StarCount: String(r.stars),
    IsOfficial: r.official ? '[OK]' : '',
    Source: r.source,
  }));
  const columns: [string, string][] = [
    ['Name', 'NAME'],
    ['Description', 'DESCRIPTION'],
    ['StarCount', 'STARS'],
    ['IsOfficial', 'OFFICIAL'],
  ];
  process.stdout.write(renderListing(rows, { columns, quietField: 'Name', headers: { Source: 'SOURCE' } }, { format: text(flags, 'format') }));
  if (results[0] && results[0].source !== 'Docker Hub') process.stderr.write(`mayfly: results from the ${results[0].source.replace(/^(.*) \(catalog\)$/, 'catalog of $1')}\n`);
  return 0;
}
