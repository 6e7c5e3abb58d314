/**
 * A test project (an example, a fixture) set up as a user would have it: copied to a scratch
 * directory with a node_modules where `mayfly` is this checkout as npm would install it (its
 * published files, `dist/` built; its dependencies beside it) and every other dependency of the
 * project's package.json is the checkout's own copy — or, for the test runners, the version under
 * test: `MAYFLY_TEST_RUNNERS` lists directories (scripts/test-versions.sh installs them) that supply
 * the packages they were asked to install. Then its test runner runs in a child process, watched
 * by a `RunWatch` (run-watch.ts), with this process's Node.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll } from 'vitest';
import { sharedRuntime } from '../../../src/harness/session.js';
import { usePresetImages } from '../../support/preset-images.js';

export const REPO = resolve(import.meta.dirname, '../../..');

interface PackageJson {
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const readPackage = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/**
 * Where a nested run takes the package `name` from: a runner directory that installed it by name
 * (its package.json says so; what it pulled in besides stays out), else this checkout.
 */
function packageDir(name: string): string | undefined {
  for (const runner of (process.env.MAYFLY_TEST_RUNNERS ?? '').split(':').filter(Boolean)) {
    if (name in (readPackage(runner).dependencies ?? {})) return join(runner, 'node_modules', name);
  }
  const own = join(REPO, 'node_modules', name);
  return existsSync(join(own, 'package.json')) ? own : undefined;
}

/** The version of `name` a nested run gets. */
export function nestedPackageVersion(name: string): string | undefined {
  const dir = packageDir(name);
  return dir && (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Copies `dir` (relative to the repository) to a scratch directory and installs its dependencies there. */
export function installProject(dir: string): string {
  const source = join(REPO, dir);
  const target = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE ?? '/tmp', `${dir.replaceAll('/', '-')}-`));
  cpSync(source, target, { recursive: true, filter: (src) => !src.includes('/node_modules') });
  const modules = join(target, 'node_modules');
  const pkg = readPackage(target);
  const mayfly = readPackage(REPO);
  // A copy, not a link to the checkout: Node resolves a module from its real path, and mayfly's own
  // `import 'vitest'` must find the runner the project has, not the checkout's devDependency.
  for (const file of ['package.json', ...(mayfly.files ?? [])]) {
    if (existsSync(join(REPO, file))) cpSync(join(REPO, file), join(modules, 'mayfly', file), { recursive: true });
  }
  // npm puts a package's dependencies beside it; its peers (the runners) are the project's, or the runner's own (jest-environment-node)
  const names = new Set([...Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...mayfly.dependencies, ...mayfly.peerDependencies })]);
  names.delete('mayfly');
  for (const name of names) {
    const from = packageDir(name);
    if (!from) continue; // an optional peer nobody installed
    const link = join(modules, name);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(from, link);
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
  /** sends a signal to the run's whole process group, as a terminal's Ctrl-C does (none left: nothing to do) */
  signalGroup(signal: NodeJS.Signals): void;
}

/** Starts `node args…` in `cwd`, in a process group of its own; output is collected, not shown. */
export function runNode(cwd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Run {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone
    }
  };
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => {
    output += `\n[test] no end after ${timeoutMs} ms: killing the run\n`;
    signalGroup('SIGKILL');
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
    signalGroup,
  };
}

/**
 * Projects (an example, fixtures), installed once for the test file, with the images they name
 * (upstream names; docker.io is mirrored to this run's registry) pulled first, so that the nested
 * runs time their tests, not a pull. `useNestedProjects({ example: 'examples/vitest' }).example()`
 * is the example's scratch directory.
 */
export function useNestedProjects<const K extends string>(dirs: Record<K, string>): Record<K, () => string> {
  usePresetImages();
  const installed = new Map<K, string>();
  beforeAll(async () => {
    const rt = await sharedRuntime();
    await Promise.all([rt.pull('nginx:1'), rt.pull('redis:7')]);
    for (const [key, dir] of Object.entries(dirs) as [K, string][]) installed.set(key, installProject(dir));
  }, 300_000);
  return Object.fromEntries(Object.keys(dirs).map((key) => [key, () => installed.get(key as K)!])) as Record<K, () => string>;
}
