/** A sandbox for the verbs that need one in this process (build, load, rmi, prune, volume rm). */
import { Runtime } from '../engine/runtime.js';

export const warn = (m: string): void => void process.stderr.write(`mayfly: warning: ${m}\n`);

/** A runtime for one command, its warnings on stderr, closed afterwards. */
export async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await Runtime.start({ onWarning: warn });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
