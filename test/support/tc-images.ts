/**
 * The images the mayfly/testcontainers suites run: testcontainers-node's HTTP test server
 * (`cristianrgreco/testcontainer:1.1.14`, the look-alike of presets/images/testcontainer, published
 * with the preset images) under the name Testcontainers' own tests use, and the test busybox root
 * filesystem imported as an image for containers that need no server (a sleep, a one-shot).
 */
import { afterAll, beforeAll } from 'vitest';
import { sharedRuntime } from '../../src/harness/session.js';
import { usePresetImages } from './preset-images.js';
import { BUSYBOX } from './runtime.js';

export const TC_IMAGE = 'cristianrgreco/testcontainer:1.1.14';
export const HTTP_PORT = 8080;
export const HTTPS_PORT = 8443;

/** Before the file's tests: the test server pulled (a pull is not what the tests time), busybox imported; busybox removed after. */
export function useTestcontainerImages(): void {
  usePresetImages();
  beforeAll(async () => {
    const rt = await sharedRuntime();
    await rt.pull(TC_IMAGE);
    await rt.importRootfs(BUSYBOX, busyboxImage(), { Cmd: ['sh'] });
  }, 300_000);
  afterAll(async () => {
    await (await sharedRuntime()).rmi(busyboxImage(), { force: true }).catch(() => {});
  });
}

export function busyboxImage(): string {
  return `mayfly-test/tc-busybox:${process.pid}`;
}
