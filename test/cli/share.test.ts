/**
 * The sharing commands end to end, in a private MAYFLY_HOME: login (checked against the registry
 * before it is stored), push with Basic auth, tag, inspect, history, save → rmi → load → run, prune.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage, tarOfDir } from '../support/images.js';
import { startRegistry, type StartedRegistry } from '../support/registry.js';
import { BUSYBOX } from '../support/runtime.js';

const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'cli-share-home-'));

/** async, so that the registries in this process keep serving while the CLI runs */
function mayfly(args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, MAYFLY_HOME: home } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.end(input);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let plain: StartedRegistry;
let basic: StartedRegistry;
let image: string;
beforeAll(async () => {
  [plain, basic] = await Promise.all([startRegistry('plain'), startRegistry('basic')]);
  image = `${plain.host}/cli/share:1`;
  await pushImage(plain.url, 'cli/share', '1', [await tarOfDir(BUSYBOX)], { Cmd: ['echo', 'shared image'], Env: ['PATH=/bin'] });
});
afterAll(async () => {
  await mayfly(['rmi', '-f', ...(await mayfly(['images', '-q'])).stdout.split('\n').filter(Boolean)]);
  await mayfly(['image', 'prune']);
  await Promise.all([plain?.stop(), basic?.stop()]);
  rmSync(home, { recursive: true, force: true });
});

describe('mayfly login / push / tag / inspect / history / save / load / rmi / image prune', () => {
  it('logs in only with credentials the registry accepts, then pushes with them', async () => {
    expect((await mayfly(['pull', image])).status).toBe(0);
    const wrong = await mayfly(['login', '-u', basic.username!, '--password-stdin', basic.host], 'not-the-password\n');
    expect(wrong.status).toBe(125);
    expect(wrong.stderr).toMatch(/refused the credentials/);
    expect(existsSync(join(home, 'auth.json'))).toBe(false);

    const target = `${basic.host}/team/app:1`;
    expect((await mayfly(['tag', image, target])).status).toBe(0);
    const anonymous = await mayfly(['push', target]);
    expect(anonymous.status).toBe(125);
    expect(anonymous.stderr).toMatch(/mayfly login/);

    const login = await mayfly(['login', '-u', basic.username!, '--password-stdin', basic.host], `${basic.password}\n`);
    expect([login.status, login.stdout]).toEqual([0, 'Login Succeeded\n']);
    expect(readFileSync(join(home, 'auth.json'), 'utf8')).toContain(basic.host);
    const pushed = await mayfly(['push', target]);
    expect(pushed.status).toBe(0);
    expect(pushed.stdout).toMatch(new RegExp(`^${target}: digest: sha256:[0-9a-f]{64}\\n$`));
    expect(pushed.stderr).toMatch(/^[0-9a-f]{12} +pushed/m);

    // untag, then pull it back from the authenticated registry
    expect((await mayfly(['rmi', target])).stdout).toBe(`Untagged: ${target}\n`);
    expect((await mayfly(['pull', target])).status).toBe(0);
    expect((await mayfly(['run', '--rm', '--pull', 'never', target])).stdout).toBe('shared image\n');
  }, 90_000); // a dozen CLI processes, each starting a sandbox: 30 s is too little beside another test file

  it('inspect prints JSON, history a table', async () => {
    const inspect = await mayfly(['inspect', image]);
    const [rec] = JSON.parse(inspect.stdout) as { Id: string; RepoTags: string[]; Config: { Cmd: string[] } }[];
    expect(rec!.RepoTags).toContain(image);
    expect(rec!.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(rec!.Config.Cmd).toEqual(['echo', 'shared image']);
    const history = await mayfly(['history', image]);
    expect(history.stdout.split('\n')[0]).toMatch(/^LAYER\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(history.stdout.trim().split('\n')).toHaveLength(2);
    const missing = await mayfly(['inspect', 'nothing/here:1']);
    // Docker's exit code for an object that is not there
    expect([missing.status, missing.stderr]).toEqual([1, expect.stringContaining('no such object: nothing/here:1')]);
    expect((await mayfly(['image', 'inspect', 'nothing/here:1'])).stderr).toContain('no such image: nothing/here:1');
  }, 90_000);

  it('save → rmi → load → run with no registry', async () => {
    const file = join(home, 'share.tar');
    expect((await mayfly(['save', '-o', file, image])).status).toBe(0);
    const ids = (await mayfly(['images', '-q'])).stdout.split('\n').filter(Boolean);
    const rmi = await mayfly(['rmi', '-f', ...ids]);
    expect(rmi.status).toBe(0);
    expect(rmi.stdout).toMatch(/^Deleted: sha256:/m);
    expect((await mayfly(['images', '-q'])).stdout).toBe('');
    await plain.stop();
    const load = await mayfly(['load', '-i', file]);
    expect([load.status, load.stdout]).toEqual([0, `Loaded image: ${image}\n`]);
    expect((await mayfly(['run', '--rm', '--pull', 'never', image])).stdout).toBe('shared image\n');
    const prune = await mayfly(['image', 'prune']);
    expect(prune.stdout).toMatch(/^Removed \d+ layer\(s\), \d+ blob\(s\) and \d+ initialised-data snapshot\(s\)\n$/);
  }, 90_000);
});
