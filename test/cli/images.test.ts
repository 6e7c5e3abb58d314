import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage, tarOfDir } from '../support/images.js';
import { startRegistry, type StartedRegistry } from '../support/registry.js';
import { BUSYBOX } from '../support/runtime.js';

const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
/** async, so that the registry in this process keeps serving while the CLI runs */
function mayfly(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let registry: StartedRegistry;
let image: string;
beforeAll(async () => {
  registry = await startRegistry('plain');
  image = `${registry.host}/cli/busybox:1`;
  await pushImage(registry.url, 'cli/busybox', '1', [await tarOfDir(BUSYBOX)], { Cmd: ['echo', 'from the image'], Env: ['PATH=/bin'] });
});
afterAll(() => registry?.stop());

describe('mayfly pull / images / run IMAGE', () => {
  it('pulls with progress, lists the image, runs it with its Cmd or a given command', async () => {
    const pulled = await mayfly('pull', image);
    expect(pulled.status).toBe(0);
    expect(pulled.stdout).toMatch(new RegExp(`^${image}: sha256:[0-9a-f]{64} \\(1 layers`));
    expect(pulled.stderr).toMatch(/^manifest +resolving/m);
    expect(pulled.stderr).toMatch(/^[0-9a-f]{12} +done/m); // extracted now, or already by another test file
    const images = await mayfly('images');
    expect(images.stdout.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(images.stdout).toContain(`${registry.host}/cli/busybox`);
    expect((await mayfly('run', '--rm', image)).stdout).toBe('from the image\n');
    const own = await mayfly('run', '--rm', '--pull', 'never', image, 'sh', '-c', 'echo own; exit 5');
    expect([own.stdout, own.status]).toEqual(['own\n', 5]);
  });

  it('names the missing image', async () => {
    const r = await mayfly('pull', `${registry.host}/cli/missing:1`);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('cli/missing');
  });
});

describe('mayfly import / build', () => {
  it('imports a directory, builds on it, runs the result', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    expect((await mayfly('import', BUSYBOX, 'cli/base:1')).status).toBe(0);
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'cli-ctx-'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM cli/base:1\nARG WHO=nobody\nRUN echo "hi $WHO" > /greeting\nCMD ["cat", "/greeting"]\n');
    const built = await mayfly('build', '-t', 'cli/app:1', '--build-arg', 'WHO=cli', ctx);
    expect(built.status).toBe(0);
    expect(built.stderr).toContain('[0 3/4] RUN echo "hi $WHO" > /greeting');
    expect(built.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect((await mayfly('run', '--rm', '--pull', 'never', 'cli/app:1')).stdout).toBe('hi cli\n');
    expect((await mayfly('build', '-t', 'cli/app:1', '--build-arg', 'WHO=cli', ctx)).stderr).toContain('CACHED');
  });
});
