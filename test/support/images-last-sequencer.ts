/**
 * Vitest's order, except that on a machine whose test cache lacks the look-alike images, the files
 * that need them run after the others. There scripts/test builds the images in the background
 * (scripts/prebuild-test-images.mjs, ~4 min on a fresh machine) while the run starts; Vitest's own
 * order puts those long files first, and both workers then waited on the build with nothing to do.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { TEST_CACHE } from './debian-base.js';

/** what a file that runs the images mentions: the images themselves, or the support modules that publish them */
const NEEDS_IMAGES = /usePresetImages|presetImagesReady|support\/tc-images|support\/project/;

function everyImageCached(): boolean {
  const archives = join(TEST_CACHE, 'preset-images');
  const cached = existsSync(archives) ? readdirSync(archives) : [];
  const images = readdirSync(join(import.meta.dirname, '../../presets/images'));
  return images.every((name) => cached.some((f) => f.startsWith(`${name}-`) && f.endsWith('.tar')));
}

export default class ImagesLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    if (everyImageCached()) return sorted;
    const needs = (f: TestSpecification) => NEEDS_IMAGES.test(readFileSync(f.moduleId, 'utf8'));
    return [...sorted.filter((f) => !needs(f)), ...sorted.filter(needs)];
  }
}
