/**
 * A service written as JSON, for configurations that are JSON (Jest's `testEnvironmentOptions`
 * travels to its workers serialized): `startContainer`'s options by the same names, with `wait` as
 * a small object instead of a `Wait.for…()` strategy. Errors name the field by its whole path
 * (`testEnvironmentOptions.mayfly.services.redis.exposedPorts.0: …`).
 *
 * ```json
 * { "image": "redis:7", "exposedPorts": [6379], "wait": { "log": "Ready to accept connections" } }
 * ```
 */
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import { harnessOptionsSchema, type HarnessOptions } from '../harness/options.js';
import { Wait, type WaitStrategy } from '../harness/wait/index.js';

const port = z.number().int().min(1).max(65535);

/**
 * How to know the service is ready (one key of these; default, as in `startContainer`: its ports
 * listening inside the container).
 */
export const jsonWaitSchema = z.union([
  z.literal('none').describe('ready once its program runs'),
  z.literal('healthcheck').describe("the image's HEALTHCHECK passing"),
  z.strictObject({ ports: z.array(port).describe('these ports listening inside the container; [] for every exposed port') }),
  z.strictObject({ http: z.string().startsWith('/'), port, status: z.number().int().min(100).max(599).optional() }),
  z.strictObject({ log: z.string().min(1).describe('a line containing this text'), times: z.number().int().positive().optional() }),
  z.strictObject({
    logPattern: z.string().min(1).refine(isRegExp, { message: 'expected a regular expression (the text between the slashes)' }),
    times: z.number().int().positive().optional(),
  }),
  z.strictObject({ command: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe('a command in the container exiting 0') }),
]);

export type JsonWait = z.input<typeof jsonWaitSchema>;

/** `startContainer` options that JSON can say, and `wait` as JSON. */
export type JsonService = Omit<HarnessOptions, 'wait' | 'copies'> & {
  wait?: JsonWait;
  /** files written before start (text content only: JSON has no bytes) */
  copies?: ({ source: string; target: string; mode?: number } | { content: string; target: string; mode?: number })[];
};

export const jsonServiceSchema = z.looseObject({ wait: jsonWaitSchema.optional() }).superRefine((value, ctx) => {
  const { wait: _wait, ...rest } = value;
  const parsed = harnessOptionsSchema.safeParse(rest);
  if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

/** Validates a JSON service at `path` (for messages) and turns it into `startContainer` options. */
export function harnessOptionsFromJson(input: unknown, path: string): HarnessOptions {
  const spec = parseJsonService(input, path);
  const { wait, ...rest } = spec;
  return { ...(rest as HarnessOptions), ...(wait !== undefined ? { wait: waitFromJson(wait) } : {}) };
}

function parseJsonService(input: unknown, path: string): JsonService {
  const result = jsonServiceSchema.safeParse(input);
  if (result.success) return result.data as JsonService;
  const lines = result.error.issues.map((i) => `  ${[path, ...i.path.map(String)].join('.')}: ${issueMessage(i)}`);
  throw new MayflyError('INVALID_OPTION', `invalid service ${path}:\n${lines.join('\n')}`, {
    details: { issues: result.error.issues.map((i) => ({ path: [path, ...i.path.map(String)].join('.'), message: i.message })) },
  });
}

function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_union' && i.path.at(-1) === 'wait') {
    return 'expected "none", "healthcheck", { "ports": [...] }, { "http": "/path", "port": n, "status"?: n }, { "log": "text", "times"?: n }, { "logPattern": "regexp", "times"?: n } or { "command": "..." }';
  }
  return i.message;
}

export function waitFromJson(w: JsonWait): WaitStrategy {
  if (w === 'none') return Wait.none();
  if (w === 'healthcheck') return Wait.forHealthcheck();
  if ('ports' in w) return Wait.forListeningPorts(...w.ports);
  if ('http' in w) return Wait.forHttp(w.http, w.port, w.status !== undefined ? { status: w.status } : {});
  if ('log' in w) return Wait.forLogMessage(w.log, w.times);
  if ('logPattern' in w) return Wait.forLogMessage(new RegExp(w.logPattern), w.times);
  return Wait.forSuccessfulCommand(w.command);
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
