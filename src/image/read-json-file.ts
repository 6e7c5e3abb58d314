import { readFile } from 'node:fs/promises';
import { MayflyError, type MayflyErrorCode } from '../core/errors.js';

/** A JSON settings file: undefined when absent; unreadable or invalid JSON is a MayflyError with `code`. */
export async function readJsonFile(file: string, code: MayflyErrorCode): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MayflyError(code, `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new MayflyError(code, `${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}
