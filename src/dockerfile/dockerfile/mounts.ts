/**
 * `RUN --mount=` specs (comma-separated key=value, as BuildKit reads them): `type=cache` (a
 * directory kept between builds), `type=secret` (a file or variable for this step only),
 * `type=bind` (a directory of the context or of another stage, read-only unless `rw`), `type=tmpfs`.
 */
import { dockerfileError } from './errors.js';

export type RunMount =
  | { type: 'bind'; target: string; source: string; from?: string; readwrite: boolean }
  | { type: 'cache'; target: string; id: string; sharing: 'shared' | 'private' | 'locked'; readonly: boolean; mode: number; uid: number; gid: number; from?: string; source?: string }
  | { type: 'secret'; id: string; target?: string; env?: string; required: boolean; mode: number; uid: number; gid: number }
  | { type: 'tmpfs'; target: string; size?: number };

const KEYS: Record<string, string[]> = {
  bind: ['target', 'source', 'from', 'readonly', 'readwrite'],
  cache: ['target', 'id', 'sharing', 'readonly', 'mode', 'uid', 'gid', 'from', 'source'],
  secret: ['id', 'target', 'env', 'required', 'mode', 'uid', 'gid'],
  tmpfs: ['target', 'size'],
};
const ALIASES: Record<string, string> = { dst: 'target', destination: 'target', src: 'source', ro: 'readonly', rw: 'readwrite' };

function bool(v: string | undefined, line: number, key: string): boolean {
  if (v === undefined || /^true$/i.test(v)) return true;
  if (/^false$/i.test(v)) return false;
  throw dockerfileError(line, `--mount ${key}=${v}: expected true or false`);
}

function int(v: string | undefined, line: number, key: string, base = 10): number | undefined {
  if (v === undefined) return undefined;
  const n = base === 8 ? Number.parseInt(v, 8) : Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw dockerfileError(line, `--mount ${key}=${v}: expected a ${base === 8 ? 'octal mode like 0755' : 'number'}`);
  return n;
}

export function parseMount(spec: string, line: number): RunMount {
  const fields = new Map<string, string | undefined>();
  for (const part of spec.split(',')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const rawKey = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    const key = ALIASES[rawKey] ?? rawKey;
    let value = i < 0 ? undefined : part.slice(i + 1);
    if (value && /^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    if (rawKey === 'readwrite' || rawKey === 'rw') fields.set('readwrite', value ?? 'true');
    else fields.set(key, value);
  }
  const type = fields.get('type') ?? 'bind';
  fields.delete('type');
  if (type === 'ssh') throw dockerfileError(line, 'RUN --mount=type=ssh is not supported', 'pass what the step needs as a secret: --mount=type=secret,id=…');
  const allowed = KEYS[type];
  if (!allowed) throw dockerfileError(line, `RUN --mount type=${type} is unknown`, 'the types are bind, cache, secret and tmpfs');
  for (const k of fields.keys()) if (!allowed.includes(k)) throw dockerfileError(line, `RUN --mount=type=${type} has no option "${k}"`, `it takes ${allowed.join(', ')}`);
  const target = fields.get('target');
  const needTarget = () => {
    if (!target) throw dockerfileError(line, `RUN --mount=type=${type} needs target=/path`);
    return target;
  };
  switch (type) {
    case 'bind':
      return { type, target: needTarget(), source: fields.get('source') ?? '/', ...(fields.get('from') ? { from: fields.get('from')! } : {}), readwrite: fields.has('readwrite') ? bool(fields.get('readwrite'), line, 'rw') : fields.has('readonly') ? !bool(fields.get('readonly'), line, 'readonly') : false };
    case 'cache': {
      const sharing = fields.get('sharing') ?? 'shared';
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw dockerfileError(line, `--mount sharing=${sharing}: use shared, private or locked`);
      const t = needTarget();
      return {
        type,
        target: t,
        id: fields.get('id') || t,
        sharing,
        readonly: fields.has('readonly') ? bool(fields.get('readonly'), line, 'readonly') : false,
        mode: int(fields.get('mode'), line, 'mode', 8) ?? 0o755,
        uid: int(fields.get('uid'), line, 'uid') ?? 0,
        gid: int(fields.get('gid'), line, 'gid') ?? 0,
        ...(fields.get('from') ? { from: fields.get('from')! } : {}),
        ...(fields.get('source') ? { source: fields.get('source')! } : {}),
      };
    }
    case 'secret': {
      const id = fields.get('id') ?? (target ? target.split('/').pop() : undefined);
      if (!id) throw dockerfileError(line, 'RUN --mount=type=secret needs id=…', 'write --mount=type=secret,id=NAME and build with --secret id=NAME,src=FILE');
      const env = fields.get('env');
      return {
        type,
        id,
        ...(target || !env ? { target: target ?? `/run/secrets/${id}` } : {}),
        ...(env ? { env } : {}),
        required: fields.has('required') ? bool(fields.get('required'), line, 'required') : false,
        mode: int(fields.get('mode'), line, 'mode', 8) ?? 0o400,
        uid: int(fields.get('uid'), line, 'uid') ?? 0,
        gid: int(fields.get('gid'), line, 'gid') ?? 0,
      };
    }
    default: {
      const size = fields.get('size');
      return { type: 'tmpfs', target: needTarget(), ...(size ? { size: int(size, line, 'size')! } : {}) };
    }
  }
}
