/** `mayfly doctor`: a table of findings; exits 1 when something essential fails. */
import type { ParsedCommand } from './command-line/definition.js';
import { sandboxFindings, settle, staticFindings, type Finding } from '../doctor/checks.js';

const MARK = { ok: '✓', warn: '!', fail: '✗' } as const;

export function formatFindings(findings: Finding[]): string {
  const width = Math.max(...findings.map((f) => f.name.length));
  return findings
    .map((f) => `${MARK[f.level]} ${f.name.padEnd(width)}  ${f.detail}${f.fix && f.level !== 'ok' ? `\n  ${' '.repeat(width)}  fix: ${f.fix}` : ''}`)
    .join('\n');
}

export async function doctorCommand({ flags }: ParsedCommand): Promise<number> {
  let findings: Finding[];
  try {
    findings = settle([...staticFindings(), ...(await sandboxFindings())]);
  } catch (e) {
    // the checks report their own failures; this is for a bug in them, still not a stack trace
    findings = [{ name: 'doctor', level: 'fail', detail: `the checks themselves failed: ${(e as Error)?.message ?? String(e)}` }];
  }
  if (flags.json === true) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  else process.stdout.write(`${formatFindings(findings)}\n`);
  return findings.some((f) => f.level === 'fail') ? 1 : 0;
}
