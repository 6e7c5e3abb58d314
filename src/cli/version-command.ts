/** `mayfly version` / `mayfly --version`: the package's version, read without loading anything else. */
import { readFileSync } from 'node:fs';
import { packageRoot } from '../core/paths.js';

export function versionCommand(): number {
  const { version } = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string };
  process.stdout.write(`mayfly version ${version}\n`);
  return 0;
}
