/**
 * Errors answered as Docker answers them, so that clients' error handling works: the status its
 * daemon uses for the same failure (404 no such container or image, 409 conflict, 400 bad
 * parameter, 500 otherwise) and a body `{"message": …}`.
 */
import { isMayflyError, type MayflyErrorCode } from '../core/errors.js';
import { ApiError } from './route.js';

const STATUS: Partial<Record<MayflyErrorCode, number>> = {
  INVALID_OPTION: 400,
  REFERENCE_INVALID: 400,
  DOCKERFILE_INVALID: 400,
  ARCHIVE_INVALID: 400,
  UNSUPPORTED: 501,
  CONTAINER_NOT_FOUND: 404,
  IMAGE_NOT_FOUND: 404,
  NETWORK_NOT_FOUND: 404,
  SNAPSHOT_NOT_FOUND: 404,
  USER_NOT_FOUND: 400,
  CONTAINER_STATE: 409,
  NETWORK_EXISTS: 409,
  NETWORK_IN_USE: 409,
  IMAGE_IN_USE: 409,
  REGISTRY_AUTH: 401,
  COMMAND_NOT_FOUND: 400,
  COMMAND_NOT_EXECUTABLE: 400,
};

export function statusOf(e: unknown): number {
  if (e instanceof ApiError) return e.status;
  if (isMayflyError(e)) return STATUS[e.code] ?? 500;
  return 500;
}

/** The message without mayfly's hint line (kept apart: Docker's clients print the message alone). */
export function messageOf(e: unknown): string {
  if (isMayflyError(e)) {
    const { message, hint } = e.toJSON();
    return hint ? `${message} (${hint})` : message;
  }
  return (e as Error)?.message ?? String(e);
}
