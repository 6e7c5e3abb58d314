import { describe, expect, it } from 'vitest';
import { dockerEnvLines } from './docker-env-lines.js';

const HOST = 'unix:///home/u/.mayfly/api/docker.sock';

describe('docker-env lines', () => {
  it('is DOCKER_HOST alone outside a container', () => {
    expect(dockerEnvLines(HOST, { inContainer: false, hostOverride: undefined })).toBe(`export DOCKER_HOST=${HOST}\n`);
  });

  it('adds the Testcontainers host override where /.dockerenv is seen, and leaves a user-set one alone', () => {
    expect(dockerEnvLines(HOST, { inContainer: true, hostOverride: undefined })).toBe(`export DOCKER_HOST=${HOST}\nexport TESTCONTAINERS_HOST_OVERRIDE=localhost\n`);
    expect(dockerEnvLines(HOST, { inContainer: true, hostOverride: '127.0.0.1' })).toBe(`export DOCKER_HOST=${HOST}\n`);
  });

  it('--unset takes back what it set, not what the user set', () => {
    expect(dockerEnvLines(HOST, { inContainer: false, hostOverride: undefined }, true)).toBe('unset DOCKER_HOST\n');
    expect(dockerEnvLines(HOST, { inContainer: true, hostOverride: 'localhost' }, true)).toBe('unset DOCKER_HOST TESTCONTAINERS_HOST_OVERRIDE\n');
    expect(dockerEnvLines(HOST, { inContainer: true, hostOverride: '127.0.0.1' }, true)).toBe('unset DOCKER_HOST\n');
  });
});
