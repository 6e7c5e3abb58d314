/**
 * mayfly/jest-environment for real: examples/jest run by a nested Jest with 4 workers, each test
 * file with a Redis of its own started by the environment, an nginx shared through the preset's
 * globalSetup; it must pass and leave nothing running (run-watch.ts says precisely what that
 * means). Then a worker killed with SIGKILL mid-test, and the mistakes a config can hold. The
 * nested Jest is the project's, or the one `MAYFLY_TEST_RUNNERS` names (scripts/test-matrix).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../support/runtime.js';
import { nestedEnv, nestedPackageVersion, runNode, useNestedProjects, type RunResult } from './support/project.js';
import { nothingLeft, RunWatch } from './support/run-watch.js';

const projects = useNestedProjects({ example: 'examples/jest', crash: 'test/integrations/fixtures/jest-crash' });

interface JestReport {
  numTotalTests: number;
  numPassedTests: number;
  testResults: { name: string; status: string; message: string }[];
}

interface JestRun {
  result: RunResult;
  /** Jest's --json report (none when Jest stopped before running tests, e.g. a failed globalSetup) */
  report: JestReport | undefined;
  watch: RunWatch;
}

/**
 * Starts Jest in `root` with `args`, watched. A fresh cache each time: Jest never decides to run in
 * band from timings it remembers. `during` runs while Jest does.
 */
async function runJest(root: string, args: string[], opts: { env?: Record<string, string>; during?: () => Promise<void> } = {}): Promise<JestRun> {
  const watch = new RunWatch().start();
  const reportFile = join(root, `report-${watch.mark}.json`);
  const cacheDirectory = mkdtempSync(join(root, 'jest-cache-'));
  const run = runNode(
    root,
    [join(root, 'node_modules/jest/bin/jest.js'), '--ci', '--json', '--outputFile', reportFile, '--cacheDirectory', cacheDirectory, ...args],
    nestedEnv({ ...watch.env, ...opts.env }),
  );
  try {
    await opts.during?.();
  } catch (error) {
    // a failed check must not leave the nested Jest (and what it started) running past the test
    run.signalGroup('SIGKILL');
    await run.done;
    watch.stop();
    throw error;
  }
  const result = await run.done;
  watch.stop();
  const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as JestReport) : undefined;
  return { result, report, watch };
}

const NOTHING = { processes: [], ports: [], containers: [] };

describe(`examples/jest in a nested Jest ${nestedPackageVersion('jest')} run`, () => {
  it('runs the Jest under test, and mayfly/jest-environment extends that Jest’s node environment', async () => {
    const { code, output } = await runNode(projects.example(), [join(projects.example(), 'node_modules/jest/bin/jest.js'), '--version'], nestedEnv()).done;
    expect(code, output).toBe(0);
    expect(output.trim()).toBe(nestedPackageVersion('jest'));
    const fromMayfly = createRequire(join(projects.example(), 'node_modules/mayfly/package.json'));
    const environment = JSON.parse(readFileSync(fromMayfly.resolve('jest-environment-node/package.json'), 'utf8')) as { version: string };
    expect(environment.version.split('.')[0]).toBe(output.trim().split('.')[0]);
  }, 60_000);

  it('passes with 4 workers, a Redis per test file and a shared nginx, and leaves nothing running', async () => {
    // Jest gives a worker 500 ms to exit once its files are done, then says it "failed to exit
    // gracefully": a busy machine alone can take that long to schedule the exit. A handle we leak
    // holds a worker for good, so 5 s still finds it (Jest 30 lets the delay be set; 29 does not).
    const grace = Number((nestedPackageVersion('jest') ?? '0').split('.')[0]) >= 30 ? ['--workerGracefulExitTimeout', '5000'] : [];
    const { result, report, watch } = await runJest(projects.example(), ['--maxWorkers', '4', ...grace]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toContain('failed to exit gracefully'); // no leaked handles (jest --detectLeaks' complaint)
    expect(report!.testResults.map((f) => f.name.replace(`${projects.example()}/`, '')).sort()).toEqual(['test/cache.test.js', 'test/isolation.test.js', 'test/products.test.js', 'test/views.test.js']);
    expect(report!.numPassedTests).toBe(8);
    // the main process (nginx) and the workers (a Redis each) share one sandbox (runtime/shared-sandbox.ts),
    // which listened on a host port for each. The watch is sure to see the nginx's, which lives through the
    // run; a file's Redis can come and go between two looks (the watch's process is niced in the matrix,
    // beside busy workers), and the file's passing tests are what show it served
    expect(watch.sandboxes.size).toBe(1);
    expect(watch.ports.size).toBeGreaterThanOrEqual(1);
    expect(await nothingLeft(watch)).toEqual(NOTHING);
  }, 300_000);
});

describe('a nested Jest run that ends badly leaves nothing running', () => {
  it('a worker killed with SIGKILL mid-test: its file fails, the others pass, its container is gone with it', async () => {
    const started = join(projects.crash(), `started-${Date.now()}.json`);
    let seen: { port: number; worker: number } | undefined;
    const run = await runJest(projects.crash(), ['--maxWorkers', '2'], {
      env: { CRASH_REPORT: started },
      during: async () => {
        await until(() => existsSync(started), 120_000, 'the test to start its container');
        seen = JSON.parse(readFileSync(started, 'utf8')) as { port: number; worker: number };
        writeFileSync(`${started}.go`, '');
      },
    });
    expect(seen, run.result.output).toBeDefined();
    expect(run.result.code, run.result.output).not.toBe(0);
    expect(run.report!.testResults.map((f) => [f.name.replace(`${projects.crash()}/`, ''), f.status]).sort()).toEqual([
      ['test/crash.test.js', 'failed'],
      ['test/other.test.js', 'passed'],
    ]);
    expect(run.result.output).toMatch(/terminated|SIGKILL/);
    expect(await nothingLeft(run.watch)).toEqual(NOTHING);
  }, 300_000);
});

describe('mistakes fail before anything starts, saying what to fix', () => {
  it('a docblock naming a service the config does not define', async () => {
    const typo = join(projects.example(), 'test/typo.test.js');
    writeFileSync(typo, "/** @mayfly redis, cache */\ntest('never runs', () => {});\n");
    const { result, report } = await runJest(projects.example(), ['--runTestsByPath', 'test/typo.test.js']).finally(() => rmSync(typo));
    expect(result.code).not.toBe(0);
    const message = report!.testResults[0]!.message;
    expect(message).toContain('test/typo.test.js: @mayfly names cache, which testEnvironmentOptions.mayfly.services does not define');
    expect(message).toContain('defined: redis');
  }, 300_000);

  it('a service definition with a wrong field: each one named by its whole path', async () => {
    const config = join(projects.example(), 'jest.bad.config.js');
    writeFileSync(config, "module.exports = { preset: 'mayfly', testEnvironmentOptions: { mayfly: { services: { redis: { image: 'redis:7', exposedPort: [6379], wait: { log: '' } } } } } };\n");
    const { result, watch } = await runJest(projects.example(), ['--config', config]).finally(() => rmSync(config));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('invalid service testEnvironmentOptions.mayfly.services.redis');
    expect(result.output).toContain('testEnvironmentOptions.mayfly.services.redis.wait.log: ');
    expect(result.output).toContain('testEnvironmentOptions.mayfly.services.redis: Unrecognized key: "exposedPort"');
    expect(watch.ports.size).toBe(0);
    expect(await nothingLeft(watch)).toEqual(NOTHING);
  }, 300_000);
});
