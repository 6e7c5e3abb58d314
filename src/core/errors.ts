/**
 * Every failure mayfly reports is a MayflyError: a stable `code` for programs, a message that says
 * what happened, a `hint` that says what to do, and the data a user needs to act on it.
 */
export type MayflyErrorCode =
  | 'INVALID_OPTION'
  /** something Docker can do that mayfly cannot (yet): the message says what and why */
  | 'UNSUPPORTED'
  | 'USERNS_UNAVAILABLE'
  | 'IDMAP_FAILED'
  | 'SANDBOX_FAILED'
  | 'SANDBOX_GONE'
  | 'ROOTFS_FAILED'
  | 'MOUNT_FAILED'
  | 'CONTAINER_START_FAILED'
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_NOT_EXECUTABLE'
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_STATE'
  | 'EXEC_FAILED'
  | 'CGROUP_FAILED'
  | 'USER_NOT_FOUND'
  | 'TIMEOUT'
  | 'COPY_FAILED'
  // waiting for readiness
  | 'WAIT_TIMEOUT'
  | 'CONTAINER_EXITED'
  | 'CONTAINER_UNHEALTHY'
  // networks
  | 'NETWORK_NOT_FOUND'
  | 'NETWORK_EXISTS'
  | 'NETWORK_IN_USE'
  | 'NETWORK_FAILED'
  // images
  | 'REFERENCE_INVALID'
  | 'IMAGE_NOT_FOUND'
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_AUTH'
  | 'REGISTRY_ERROR'
  | 'DIGEST_MISMATCH'
  | 'MANIFEST_UNSUPPORTED'
  | 'MANIFEST_INVALID'
  | 'PLATFORM_NOT_FOUND'
  | 'LAYER_REJECTED'
  | 'IMAGE_IN_USE'
  | 'ARCHIVE_INVALID'
  // builds
  | 'DOCKERFILE_INVALID'
  | 'BUILD_FAILED'
  // databases of the presets (snapshot, restore, fork)
  | 'DATABASE_BUSY'
  | 'DATABASE_ERROR'
  | 'SNAPSHOT_NOT_FOUND'
  // the machine
  | 'NO_SPACE';

export interface MayflyErrorOptions {
  hint?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class MayflyError extends Error {
  readonly code: MayflyErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: MayflyErrorCode, message: string, options: MayflyErrorOptions = {}) {
    super(options.hint ? `${message}\n  hint: ${options.hint}` : message, { cause: options.cause });
    this.name = 'MayflyError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  /** A plain object that survives structured clone (IPC) and can be revived with `fromJSON`. */
  toJSON(): SerializedMayflyError {
    return {
      code: this.code,
      message: this.hint ? this.message.slice(0, this.message.indexOf('\n  hint: ')) : this.message,
      hint: this.hint,
      details: this.details,
    };
  }

  static fromJSON(e: SerializedMayflyError): MayflyError {
    const opts: MayflyErrorOptions = { details: e.details };
    if (e.hint !== undefined) opts.hint = e.hint;
    return new MayflyError(e.code, e.message, opts);
  }
}

export interface SerializedMayflyError {
  code: MayflyErrorCode;
  message: string;
  hint: string | undefined;
  details: Record<string, unknown>;
}

export function isMayflyError(e: unknown, code?: MayflyErrorCode): e is MayflyError {
  return e instanceof MayflyError && (code === undefined || e.code === code);
}
