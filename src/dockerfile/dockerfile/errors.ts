/** Every complaint about a Dockerfile names its line and says what to do. */
import { MayflyError } from '../../core/errors.js';

export function dockerfileError(line: number, message: string, hint?: string): MayflyError {
  return new MayflyError('DOCKERFILE_INVALID', `Dockerfile line ${line}: ${message}`, { ...(hint ? { hint } : {}), details: { line } });
}
