/**
 * examples/migrate-from-testcontainers — a suite written for Testcontainers for Node — run by a
 * nested Vitest as its users would run it after switching the import to `mayfly/testcontainers`
 * (the example's config does it with an alias), against this run's look-alike images. It must pass
 * and leave nothing running.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedRuntime } from '../../src/harness/session.js';
import { installProject, nestedEnv, runNode } from '../integrations/support/project.js';
import { nothingLeft, RunWatch } from '../integrations/support/run-watch.js';
import { usePresetImages } from '../support/preset-images.js';

usePresetImages();
let project = '';
beforeAll(async () => {
  const rt = await sharedRuntime();
  // pulled first, so that the nested run times its tests, not a pull
  await Promise.all(['redis:7', 'postgres:15', 'nginx:1'].map((i) => rt.pull(i)));
  project = installProject('examples/migrate-from-testcontainers');
}, 300_000);

interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
}

describe('examples/migrate-from-testcontainers on mayfly', () => {
  it('passes unchanged but for the import, and leaves nothing running', async () => {
    const watch = new RunWatch().start();
    const reportFile = join(project, `report-${watch.mark}.json`);
    const run = runNode(project, [join(project, 'node_modules/vitest/vitest.mjs'), 'run', '--root', project, '--reporter', 'default', '--reporter', 'json', '--outputFile.json', reportFile], nestedEnv(watch.env));
    const result = await run.done;
    watch.stop();
    expect(result.code, result.output).toBe(0);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as JsonReport;
    expect(report.numTotalTests).toBe(5);
    expect(report.numPassedTests).toBe(5);
    expect(await nothingLeft(watch)).toEqual({ processes: [], ports: [], containers: [] });
  }, 300_000);
});
