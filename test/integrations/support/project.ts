/**
 * A test project (an example, a fixture) set up as a user would have it: copied to a scratch
 * directory with a node_modules where `mayfly` is this checkout (built: `dist/`) and every other
 * dependency of its package.json is the checkout's own copy. Then its test runner runs in a child
 * process, watched by a `RunWatch` (run-watch.ts).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll } from 'vitest';
import { sharedRuntime } from '../../../src/harness/session.js';
import { usePresetImages } from '../../support/preset-images.js';

export const REPO = resolve(import.meta.dirname, '../../..');

/** Copies `dir` (relative to the repository) to a scratch directory and links its dependencies there. */
export function installProject(dir: string): string {
  const source = join(REPO, dir);
  const target = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE ?? '/tmp', `${dir.replaceAll('/', '-')}-`));
  cpSync(source, target, { recursive: true, filter: (src) => !src.includes('/node_modules') });
  const pkg = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  mkdirSync(join(target, 'node_modules'));
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    const link = join(target, 'node_modules', name);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(name === 'mayfly' ? REPO : join(REPO, 'node_modules', name), link);
  }
  return target;
}

/** The environment for a nested test run: this one's (MAYFLY_HOME, the registry mirror, ...) without the outer runner's own variables. */
export function nestedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VITEST|TINYPOOL|JEST)/.test(k) || k === 'NODE_OPTIONS' || k === 'NODE_ENV' || k === 'TEST') continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true', ...extra };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

export interface Run {
  pid: number;
  done: Promise<RunResult>;
  /** sends a signal to the run's whole process group, as a terminal's Ctrl-C does */
  signalGroup(signal: NodeJS.Signals): void;
}

/** Starts `node args…` in `cwd`, in a process group of its own; output is collected, not shown. */
export function runNode(cwd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Run {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => {
    output += `\n[test] no end after ${timeoutMs} ms: killing the run\n`;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }, timeoutMs);
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
  return {
    pid: child.pid!,
    done,
    signalGroup: (signal) => process.kill(-child.pid!, signal),
  };
}

/**
 * An example project and its crash fixture, installed once for the test file, with the images they
 * name (upstream names; docker.io is mirrored to this run's registry) pulled first, so that the
 * nested runs time their tests, not a pull.
 */
export function useNestedProjects(exampleDir: string, crashDir: string): { example: () => string; crash: () => string } {
  usePresetImages();
  const installed = { example: '', crash: '' };
  beforeAll(async () => {
    const rt = await sharedRuntime();
    await Promise.all([rt.pull('nginx:1'), rt.pull('redis:7')]);
    installed.example = installProject(exampleDir);
    installed.crash = installProject(crashDir);
  }, 300_000);
  return { example: () => installed.example, crash: () => installed.crash };
}
