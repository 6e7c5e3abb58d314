/** The options of a build, validated (a wrong one is reported by its field name). */
import { z } from 'zod';
import { parseWith } from '../core/validate.js';

export interface BuildStep {
  /** 1-based, in the order steps start (stages may run side by side) */
  index: number;
  total: number;
  /** the stage: its name, or its index */
  stage: string;
  /** the instruction as written */
  text: string;
  line: number;
  cached: boolean;
  /** true for steps that only change the image's settings */
  metadata: boolean;
}

const secretSchema = z.union([
  z.strictObject({ src: z.string().min(1) }),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
]);

export const buildOptionsSchema = z.strictObject({
  /** the build context directory */
  context: z.string().min(1),
  /** default: `<context>/Dockerfile` */
  dockerfile: z.string().min(1).optional(),
  /** the Dockerfile's text itself (`mayfly build -f -`): no file is read */
  dockerfileText: z.string().optional(),
  /** names for the result, e.g. `myapp:dev` */
  tag: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  /** the stage to build (default: the last) */
  target: z.string().min(1).optional(),
  buildArgs: z.record(z.string(), z.string()).default({}),
  /** labels added to the image */
  labels: z.record(z.string(), z.string()).default({}),
  /** build every step again (the results still go into the cache) */
  noCache: z.boolean().default(false),
  /** pull the FROM images even when the store has them */
  pull: z.boolean().default(false),
  /** `RUN --mount=type=secret,id=ID` sources: a file, or an environment variable of this process */
  secrets: z.record(z.string(), secretSchema).default({}),
  /** how new layers are compressed */
  compression: z.enum(['gzip', 'zstd']).default('gzip'),
  /** each step as it starts (a cached one is also done then) */
  onStep: z.custom<(e: BuildStep) => void>((v) => typeof v === 'function').optional(),
  /** a step that ran (not cached) has ended, after `ms` milliseconds */
  onStepEnd: z.custom<(e: BuildStep & { ms: number }) => void>((v) => typeof v === 'function').optional(),
  /** RUN output, as it comes */
  onOutput: z.custom<(stream: 'stdout' | 'stderr', data: Uint8Array) => void>((v) => typeof v === 'function').optional(),
  onWarning: z.custom<(message: string) => void>((v) => typeof v === 'function').optional(),
  /** stops the build (its RUN containers, downloads and waits), as a failing stage does — e.g. when a Docker API client goes away */
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
});

export type BuildOptions = z.input<typeof buildOptionsSchema>;
export type NormalizedBuildOptions = z.output<typeof buildOptionsSchema>;

export function parseBuildOptions(input: BuildOptions): NormalizedBuildOptions {
  return parseWith(buildOptionsSchema, input, 'build options');
}
