import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../core/errors.js';
import { parseContainerSpec, parseSize } from './container-spec.js';

describe('sizes', () => {
  it.each([
    ['64m', 64 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['512k', 512 * 1024],
    ['1048576', 1048576],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64MiB', 64 * 1024 ** 2],
  ])('%s', (text, bytes) => expect(parseSize(text)).toBe(bytes));
  it.each(['', 'lots', '-1m', '0', '12q'])('rejects %j', (text) => expect(parseSize(text)).toBeUndefined());
});

describe('container spec', () => {
  it('fills Docker-like defaults', () => {
    const s = parseContainerSpec({ layers: ['/l'], command: ['true'] });
    expect(s).toMatchObject({ workingDir: '/', user: '0:0', network: 'none', init: false, stopSignal: 'SIGTERM', stopTimeout: 10, tmpfs: [], env: {} });
  });
  it('names every wrong field', () => {
    try {
      parseContainerSpec({ layers: [], command: [], network: 'not a name!', limits: { memory: 'x' }, name: 'bad name!' });
      expect.unreachable();
    } catch (e) {
      expect(isMayflyError(e, 'INVALID_OPTION')).toBe(true);
      const msg = (e as Error).message;
      for (const field of ['layers', 'command', 'network', 'limits.memory', 'name']) expect(msg).toContain(`  ${field}: `);
    }
  });
});
