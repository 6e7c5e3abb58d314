/**
 * Extended attributes through koffi: Node has no API for them. Layer extraction needs them for
 * overlayfs (`user.overlay.opaque`), for the xattrs a layer carries in PAX headers, and tests need
 * to read them back. The `l*` calls never follow a symlink in the last path component.
 *
 * Failures throw an `XattrError` shaped like Node's own fs errors (`code` is the errno name, e.g.
 * 'EPERM', 'ENOTSUP'), so callers can treat them like any other fs failure.
 */
import { constants } from 'node:os';
import { errnoName, lastErrno, libcFunction } from './libc.js';

const c = {
  lsetxattr: libcFunction('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
  lgetxattr: libcFunction('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
  llistxattr: libcFunction('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)'),
  lremovexattr: libcFunction('int lremovexattr(const char *path, const char *name)'),
};

const ENODATA = constants.errno.ENODATA;
const ERANGE = constants.errno.ERANGE;

/** Flags for `lsetxattr`: fail if the attribute exists / does not exist (default: either). */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

export class XattrError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly path: string,
    readonly attribute: string | undefined,
  ) {
    const code = errnoName(errno);
    super(`${syscall}(${path}${attribute === undefined ? '' : `, ${attribute}`}) failed: ${code}`);
    this.name = 'XattrError';
    this.code = code;
  }
}

/** Sets an extended attribute on `path` itself (a symlink is not followed). */
export function lsetxattr(path: string, name: string, value: Buffer | string, flags = 0): void {
  const buf = typeof value === 'string' ? Buffer.from(value) : value;
  if (c.lsetxattr(path, name, buf, buf.length, flags) !== 0) throw new XattrError('lsetxattr', lastErrno(), path, name);
}

/** The value of an extended attribute of `path` itself, or undefined when it has none by that name. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  for (;;) {
    const size = Number(c.lgetxattr(path, name, null, 0));
    if (size < 0) {
      const errno = lastErrno();
      if (errno === ENODATA) return undefined;
      throw new XattrError('lgetxattr', errno, path, name);
    }
    const buf = Buffer.alloc(size);
    const got = Number(c.lgetxattr(path, name, buf, size));
    if (got >= 0) return buf.subarray(0, got);
    const errno = lastErrno();
    if (errno === ERANGE) continue; // the value grew between the two calls
    if (errno === ENODATA) return undefined;
    throw new XattrError('lgetxattr', errno, path, name);
  }
}

/** The names of all extended attributes of `path` itself that this process may see. */
export function llistxattr(path: string): string[] {
  for (;;) {
    const size = Number(c.llistxattr(path, null, 0));
    if (size < 0) throw new XattrError('llistxattr', lastErrno(), path, undefined);
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const got = Number(c.llistxattr(path, buf, size));
    if (got < 0) {
      const errno = lastErrno();
      if (errno === ERANGE) continue;
      throw new XattrError('llistxattr', errno, path, undefined);
    }
    return buf.toString('utf8', 0, got).split('\0').filter((n) => n !== '');
  }
}

export function lremovexattr(path: string, name: string): void {
  if (c.lremovexattr(path, name) !== 0) throw new XattrError('lremovexattr', lastErrno(), path, name);
}

/** The attribute's value as text; undefined when the file has none, or its filesystem keeps none. */
export function xattrText(path: string, name: string): string | undefined {
  try {
    return lgetxattr(path, name)?.toString();
  } catch {
    return undefined;
  }
}
