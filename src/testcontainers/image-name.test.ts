import { describe, expect, it } from 'vitest';
import { ImageName } from './image-name.js';

describe('ImageName', () => {
  it('splits a reference as Testcontainers does', () => {
    expect(ImageName.fromString('postgres')).toMatchObject({ registry: undefined, image: 'postgres', tag: 'latest', string: 'postgres:latest' });
    expect(ImageName.fromString('bitnami/redis:7.2')).toMatchObject({ registry: undefined, image: 'bitnami/redis', tag: '7.2' });
    expect(ImageName.fromString('127.0.0.1:5000/app/api:1')).toMatchObject({ registry: '127.0.0.1:5000', image: 'app/api', tag: '1', string: '127.0.0.1:5000/app/api:1' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(ImageName.fromString(`ghcr.io/o/r@${digest}`)).toMatchObject({ registry: 'ghcr.io', image: 'o/r', tag: digest, string: `ghcr.io/o/r@${digest}` });
    expect(ImageName.fromString('redis:7').equals(ImageName.fromString('redis:7'))).toBe(true);
    expect(() => ImageName.fromString('UPPER/case')).toThrow();
  });
});
