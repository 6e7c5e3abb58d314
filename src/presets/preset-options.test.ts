import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../core/errors.js';
import { imageReference } from './preset-options.js';

describe('imageReference', () => {
  const ref = (o: { image?: string; tag?: string }) => imageReference('postgres', 'postgres', '17', o);

  it.each([
    [{}, 'postgres:17'],
    [{ tag: '15' }, 'postgres:15'],
    [{ image: 'postgres:16-alpine' }, 'postgres:16-alpine'],
    [{ image: 'my.mirror:5000/library/postgres' }, 'my.mirror:5000/library/postgres:17'],
    [{ image: 'my.mirror:5000/library/postgres', tag: '15' }, 'my.mirror:5000/library/postgres:15'],
    [{ image: `postgres@sha256:${'a'.repeat(64)}` }, `postgres@sha256:${'a'.repeat(64)}`],
  ])('%j → %s (upstream name and default tag unless told otherwise; a registry port is not a tag)', (o, expected) => {
    expect(ref(o)).toBe(expected);
  });

  it('refuses a tag given twice, and names Docker would refuse', () => {
    expect(() => ref({ image: 'postgres:16', tag: '15' })).toThrow(/tag: "15" given, but image "postgres:16" already names a tag/);
    try {
      ref({ image: 'Postgres' });
      expect.unreachable();
    } catch (e) {
      expect(isMayflyError(e, 'REFERENCE_INVALID')).toBe(true);
    }
  });
});
