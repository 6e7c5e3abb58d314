/**
 * A host folder of init scripts as the database images' /docker-entrypoint-initdb.d (postgres,
 * mysql, mariadb: *.sh, *.sql, *.sql.gz … run in name order on a first start).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The folder's files as the image's /docker-entrypoint-initdb.d, one by one: the server's user runs
 * them, so each is made readable (and a *.sh executable one stays executable, which decides
 * between running and sourcing it), whatever its mode on the host. Sub-folders are not read, as
 * the image does not read them.
 */
export function initScriptCopies(dir: string): { content: Buffer; target: string; mode: number }[] {
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isFile())
    .map((name) => ({
      content: readFileSync(join(dir, name)),
      target: `/docker-entrypoint-initdb.d/${name}`,
      mode: statSync(join(dir, name)).mode & 0o111 ? 0o755 : 0o644,
    }));
}

