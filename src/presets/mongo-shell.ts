/**
 * The MongoDB shell inside the container, and the scripts the preset runs with it. Images from 6.0
 * on have `mongosh`; older ones only the legacy `mongo` shell. The scripts keep to what both
 * understand (`db.adminCommand`, `print`, `quit`, `sleep`) and treat a command error the same
 * whether the shell throws it (mongosh) or returns it (`mongo`).
 */

/** An argv running `mongosh` (or `mongo` where there is no mongosh) with the given arguments, quietly and without ~/.mongoshrc. */
export function mongoShell(args: string[]): string[] {
  const script = 'if command -v mongosh >/dev/null 2>&1; then exec mongosh --quiet --norc "$@"; else exec mongo --quiet --norc "$@"; fi';
  return ['sh', '-c', script, 'mongo-shell', ...args];
}

/** How long the readiness script waits, at most, for the node to become primary before it exits 1 (and is run again). */
export const PRIMARY_WAIT_MS = 8000;

/**
 * Exits 0 once the server answers commands — and, for a replica set, once it is a writable
 * primary: the set is initiated if it is not yet (a single member, `member`, as the clients inside
 * the container reach it). Safe to run again and again until it succeeds.
 */
export function readinessScript(replicaSet: { name: string; member: string } | undefined): string {
  const lines = [
    'function run(c) { try { return db.adminCommand(c); } catch (e) { return { ok: 0, code: e.code, errmsg: String(e.message || e) }; } }',
    'var ping = run({ ping: 1 });',
    'if (ping.ok !== 1) { print("ping: " + ping.errmsg); quit(1); }',
  ];
  if (replicaSet) {
    const config = { _id: replicaSet.name, members: [{ _id: 0, host: replicaSet.member }] };
    lines.push(
      'var status = run({ replSetGetStatus: 1 });',
      // 94 NotYetInitialized: initiate; 23 AlreadyInitialized: another attempt got there first
      `if (status.ok !== 1) { var r = run({ replSetInitiate: ${JSON.stringify(config)} }); if (r.ok !== 1 && r.code !== 23) { print("replSetInitiate: " + r.errmsg); quit(1); } }`,
      `var until = Date.now() + ${PRIMARY_WAIT_MS};`,
      'function primary() { var h = run({ hello: 1 }); if (h.ok !== 1) h = run({ isMaster: 1 }); return h.isWritablePrimary === true || h.ismaster === true; }',
      'while (!primary()) { if (Date.now() > until) { print("not yet a writable primary"); quit(1); } sleep(100); }',
    );
  }
  return lines.join('\n');
}
