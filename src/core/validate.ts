/** zod at every entry point: options are checked before anything starts, and a wrong one is named. */
import type { z } from 'zod';
import { MayflyError } from './errors.js';

/** Validates options; the error names every wrong field and what was expected. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(options)'}: ${i.message}`);
  throw new MayflyError('INVALID_OPTION', `invalid ${what}:\n${lines.join('\n')}`, {
    details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  });
}
