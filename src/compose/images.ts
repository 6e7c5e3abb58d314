/** `compose build` and `compose pull`: the services' images, made or fetched before anything starts. */
import { Runtime, type PullOptions } from '../engine/runtime.js';
import type { ComposeProject } from './compose-file.js';
import { buildImages, planServices, type Say } from './project.js';

export async function composeBuild(p: ComposeProject, opts: { services: string[]; noCache?: boolean; pull?: boolean; say: Say }): Promise<string[]> {
  const plans = planServices(p, opts.services, { noDeps: true, say: opts.say });
  const buildable = plans.filter((s) => s.build);
  if (!buildable.length) opts.say('Nothing to build: no service has a build section');
  const ids = await buildImages(p, buildable, { always: true, ...(opts.noCache ? { noCache: true } : {}), ...(opts.pull ? { pull: true } : {}) }, opts.say);
  return buildable.map((s) => {
    opts.say(`Built ${s.build!.tag} (${ids.get(s.service)?.replace(/^sha256:/, '').slice(0, 12)})`);
    return s.build!.tag;
  });
}

/**
 * Pulls the images of the services that do not build theirs. A failed pull ends the command unless
 * `ignoreFailures`; the others are pulled first, in parallel over one sandbox.
 */
export async function composePull(p: ComposeProject, opts: { services: string[]; ignoreFailures?: boolean; onProgress?: PullOptions['onProgress']; say: Say }): Promise<{ pulled: string[]; failed: string[] }> {
  const plans = planServices(p, opts.services, { noDeps: true, say: opts.say });
  const refs = [...new Set(plans.filter((s) => !s.build && s.pullPolicy !== 'never').map((s) => s.options.image!))];
  for (const s of plans.filter((x) => x.build)) opts.say(`Skipping ${s.service}: it builds its image (compose build)`);
  if (!refs.length) return { pulled: [], failed: [] };
  const rt = await Runtime.start({ onWarning: (m) => opts.say(`warning: ${m}`) });
  const pulled: string[] = [];
  const failed: { ref: string; error: unknown }[] = [];
  try {
    await Promise.all(
      refs.map(async (ref) => {
        opts.say(`Pulling ${ref}`);
        try {
          const rec = await rt.pull(ref, opts.onProgress ? { onProgress: opts.onProgress } : {});
          opts.say(`Pulled ${ref} (${rec.id.replace(/^sha256:/, '').slice(0, 12)})`);
          pulled.push(ref);
        } catch (error) {
          opts.say(`Failed to pull ${ref}: ${(error as Error).message.split('\n')[0]}`);
          failed.push({ ref, error });
        }
      }),
    );
  } finally {
    await rt.close();
  }
  if (failed.length && !opts.ignoreFailures) throw failed[0]!.error;
  return { pulled, failed: failed.map((f) => f.ref) };
}
