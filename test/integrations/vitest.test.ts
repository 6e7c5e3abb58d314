/**
 * mayfly/vitest for real: examples/vitest run by a nested Vitest (4 workers, each test file with a
 * Redis of its own, an nginx shared through globalSetup) in the forks pool, the threads pool and as
 * one shard of two; mayflyTest's three fixture scopes; then runs that end badly — a worker killed
 * with SIGKILL mid-test, Ctrl-C. Each must leave nothing running (run-watch.ts says precisely what
 * that means). The nested Vitest is the project's, or the one `MAYFLY_TEST_RUNNERS` names
 * (scripts/test-matrix).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../support/runtime.js';
import { nestedEnv, nestedPackageVersion, runNode, useNestedProjects, type RunResult } from './support/project.js';
import { nothingLeft, RunWatch } from './support/run-watch.js';

const projects = useNestedProjects({
  example: 'examples/vitest',
  crash: 'test/integrations/fixtures/vitest-crash',
  scopes: 'test/integrations/fixtures/vitest-scopes',
});

const vitest = (root: string, ...args: string[]) => [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', root, ...args];

/** 4 workers: Vitest 3 takes a minimum too (its default follows the core count); Vitest 4 dropped that option. */
const fourWorkers = ['--maxWorkers', '4', ...(Number(nestedPackageVersion('vitest')?.split('.')[0]) < 4 ? ['--minWorkers', '4'] : [])];

interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  testResults: { name: string; status: string }[];
}

/** Runs the example with `args`, watching it; returns its result, its JSON report and the watch. */
async function runExample(...args: string[]): Promise<{ result: RunResult; report: JsonReport; watch: RunWatch }> {
  const watch = new RunWatch().start();
  const reportFile = join(projects.example(), `report-${watch.mark}.json`);
  const run = runNode(projects.example(), vitest(projects.example(), '--reporter', 'default', '--reporter', 'json', '--outputFile.json', reportFile, ...args), nestedEnv(watch.env));
  const result = await run.done;
  watch.stop();
  expect(result.code, result.output).toBe(0);
  expect(result.output).toContain(`RUN  v${nestedPackageVersion('vitest')} `); // the version under test ran it
  return { result, report: JSON.parse(readFileSync(reportFile, 'utf8')) as JsonReport, watch };
}

async function expectNothingLeft(watch: RunWatch): Promise<void> {
  expect(await nothingLeft(watch)).toEqual({ processes: [], ports: [], containers: [] });
}

describe(`examples/vitest in a nested Vitest ${nestedPackageVersion('vitest')} run`, () => {
  it('passes with 4 forks, a Redis per test file and a shared nginx, and leaves nothing running', async () => {
    const { report, watch } = await runExample('--pool', 'forks', ...fourWorkers);
    expect(report.testResults.map((f) => f.name.replace(`${projects.example()}/`, '')).sort()).toEqual(['test/cache.test.js', 'test/isolation.test.js', 'test/products.test.js', 'test/views.test.js']);
    expect(report.numPassedTests).toBe(report.numTotalTests);
    expect(report.numTotalTests).toBe(8);
    // the main process (nginx) and the workers (a Redis each) share one sandbox (runtime/shared-sandbox.ts),
    // which listened on a host port for each. The watch is sure to see the nginx's, which lives through the
    // run; a file's Redis can come and go between two looks (the watch's process is niced in the matrix,
    // beside busy workers), and the file's passing tests are what show it served
    expect(watch.sandboxes.size).toBe(1);
    expect(watch.ports.size).toBeGreaterThanOrEqual(1);
    await expectNothingLeft(watch);
  }, 300_000);

  it('passes in the threads pool, and leaves nothing running', async () => {
    const { report, watch } = await runExample('--pool', 'threads', ...fourWorkers);
    expect(report.numPassedTests).toBe(8);
    expect(watch.ports.size).toBeGreaterThanOrEqual(1); // the nginx's at least (see above)
    await expectNothingLeft(watch);
  }, 300_000);

  it('passes as one shard of two (the shard starts the shared services itself), and leaves nothing running', async () => {
    const { report, watch } = await runExample('--shard', '1/2', '--maxWorkers', '2');
    expect(report.testResults.length).toBe(2);
    expect(report.numPassedTests).toBe(report.numTotalTests);
    await expectNothingLeft(watch);
  }, 300_000);
});

describe(`mayflyTest’s scopes in a nested Vitest ${nestedPackageVersion('vitest')} run`, () => {
  it('test: a container per test; file: one per file; worker: one for the files a worker runs; then nothing left', async () => {
    const watch = new RunWatch().start();
    const reportFile = join(projects.scopes(), `scopes-${watch.mark}.jsonl`);
    // one worker that runs both files (no isolation): what a worker scope is for
    const run = runNode(projects.scopes(), vitest(projects.scopes(), '--no-isolate', '--maxWorkers', '1'), nestedEnv({ ...watch.env, SCOPES_REPORT: reportFile }));
    const result = await run.done;
    watch.stop();
    expect(result.code, result.output).toBe(0);
    const records = readFileSync(reportFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { scope: string; file: string; id: string; worker: number });
    const ids = (scope: string, file?: string) => records.filter((r) => r.scope === scope && (!file || r.file === file)).map((r) => r.id);
    expect(new Set(ids('test')).size).toBe(4);
    expect(new Set(ids('file', 'a.test.js')).size).toBe(1);
    expect(new Set(ids('file', 'b.test.js')).size).toBe(1);
    expect(ids('file', 'a.test.js')[0]).not.toBe(ids('file', 'b.test.js')[0]);
    expect(new Set(records.map((r) => r.worker)).size).toBe(1);
    expect(ids('worker')).toHaveLength(2);
    expect(new Set(ids('worker')).size).toBe(1);
    expect(records).toHaveLength(10);
    await expectNothingLeft(watch);
  }, 300_000);
});

describe('a nested Vitest run that ends badly leaves nothing running', () => {
  /** Starts the crash fixture in `mode`; resolves once its test has its container (its report says where). */
  async function startCrashRun(mode: 'sigkill' | 'hang') {
    const watch = new RunWatch().start();
    const reportFile = join(projects.crash(), `started-${watch.mark}.json`);
    const run = runNode(projects.crash(), vitest(projects.crash(), '--pool', 'forks'), nestedEnv({ ...watch.env, CRASH_MODE: mode, CRASH_REPORT: reportFile }));
    let ended = false;
    void run.done.then(() => (ended = true));
    await until(() => existsSync(reportFile) || ended, 120_000, 'the test to start its container');
    const started = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as { port: number; worker: number }) : undefined;
    watch.sample(); // the container may have come up since the last sample
    writeFileSync(`${reportFile}.go`, '');
    return { watch, run, started };
  }

  it('a worker killed with SIGKILL mid-test: the run fails, and its container is gone with it', async () => {
    const { watch, run, started } = await startCrashRun('sigkill');
    const result = await run.done;
    watch.stop();
    expect(started, result.output).toBeDefined();
    expect(result.code, result.output).not.toBe(0);
    expect(watch.ports).toContain(started!.port);
    await expectNothingLeft(watch);
  }, 300_000);

  it('Ctrl-C (SIGINT to the run’s process group) while a test holds a container', async () => {
    const { watch, run, started } = await startCrashRun('hang');
    expect(started).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${started!.port}/`)).status).toBeLessThan(500);
    run.signalGroup('SIGINT');
    const result = await run.done;
    watch.stop();
    expect(result.code === 0, result.output).toBe(false);
    expect(watch.ports).toContain(started!.port);
    await expectNothingLeft(watch);
  }, 300_000);
});
