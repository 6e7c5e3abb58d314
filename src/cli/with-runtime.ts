/** Small shared pieces of the CLI's commands. */
import { Runtime } from '../runtime/runtime.js';

/** A runtime for one command, its warnings on stderr, closed afterwards. */
export async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await Runtime.start({ onWarning: (m) => process.stderr.write(`mayfly: warning: ${m}\n`) });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/** `mayfly GROUP` without a subcommand, `--help`, or an unknown one: usage, and Docker's exit codes. */
export function subcommandHelp(group: string, sub: string | undefined, usage: string): number {
  if (sub === undefined || sub === '--help') {
    process.stdout.write(usage);
    return sub ? 0 : 125;
  }
  process.stderr.write(`mayfly ${group}: unknown subcommand "${sub}"\n\n${usage}`);
  return 125;
}
