/** `mayfly doctor`: a table of findings; exits 1 when something essential fails. */
import { sandboxFindings, staticFindings, type Finding } from '../doctor/checks.js';

const MARK = { ok: '✓', warn: '!', fail: '✗' } as const;

export function formatFindings(findings: Finding[]): string {
  const width = Math.max(...findings.map((f) => f.name.length));
  return findings
    .map((f) => `${MARK[f.level]} ${f.name.padEnd(width)}  ${f.detail}${f.fix && f.level !== 'ok' ? `\n  ${' '.repeat(width)}  fix: ${f.fix}` : ''}`)
    .join('\n');
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const findings = [...staticFindings(), ...(await sandboxFindings())];
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  else process.stdout.write(`${formatFindings(findings)}\n`);
  return findings.some((f) => f.level === 'fail') ? 1 : 0;
}
