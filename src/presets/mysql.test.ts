import { describe, expect, it } from 'vitest';
import { StartedContainer, type ContainerHandle } from '../harness/started-container.js';
import { mariadbContainerOptions, mysqlContainerOptions, StartedMysql } from './mysql.js';

describe('presets.mysql and presets.mariadb, offline', () => {
  it('mysql:8.4 with MYSQL_* settings, durability off, small redo logs, the datadir on tmpfs and kept as a snapshot, ready on a TCP query', () => {
    const o = mysqlContainerOptions();
    expect(o.image).toBe('mysql:8.4');
    expect(o.env).toEqual({ MYSQL_ROOT_PASSWORD: 'test', MYSQL_DATABASE: 'test', MYSQL_USER: 'test', MYSQL_PASSWORD: 'test' });
    expect(o.command).toEqual([
      '--innodb-flush-log-at-trx-commit=0',
      '--loose-innodb-doublewrite=OFF',
      '--loose-sync-binlog=0',
      '--loose-skip-log-bin',
      '--loose-innodb-redo-log-capacity=8M',
      '--loose-innodb-log-file-size=8M',
      '--loose-performance-schema=OFF',
      // small caches: their allocation was most of a warm start; temporary tablespace not written out in full
      '--loose-innodb-buffer-pool-size=32M',
      '--loose-innodb-log-buffer-size=2M',
      '--loose-aria-pagecache-buffer-size=8M',
      '--loose-key-buffer-size=8M',
      '--loose-innodb-temp-data-file-path=ibtmp1:1M:autoextend',
      '--loose-innodb-buffer-pool-load-at-startup=OFF',
      '--loose-innodb-buffer-pool-dump-at-shutdown=OFF',
    ]);
    expect(o.tmpfs).toEqual({ '/var/lib/mysql': 'mode=0755' });
    expect(o.initSnapshot).toEqual({ paths: ['/var/lib/mysql'], enabled: true, run: { entrypoint: ['mysqld'], command: o.command, user: 'mysql' } });
    expect(mariadbContainerOptions().initSnapshot?.run?.entrypoint).toEqual(['mariadbd']);
    expect(o.wait?.describe()).toBe('a query (SELECT 1) answered over TCP at port 3306 as test on database test');
  });

  it('mariadb:11 with MARIADB_* settings; root alone when the user is root; options override the defaults', () => {
    const o = mariadbContainerOptions({ user: 'root', password: 'pw', database: 'shop', config: { innodb_flush_log_at_trx_commit: 1, max_connections: 10, skip_name_resolve: true } });
    expect(o.image).toBe('mariadb:11');
    expect(o.env).toEqual({ MARIADB_ROOT_PASSWORD: 'pw', MARIADB_DATABASE: 'shop' });
    expect(o.command).toContain('--innodb-flush-log-at-trx-commit=1');
    expect(o.command).not.toContain('--innodb-flush-log-at-trx-commit=0');
    expect(o.command).toEqual(expect.arrayContaining(['--max-connections=10', '--skip-name-resolve=ON']));
    expect(o.wait?.describe()).toContain('as root on database shop');
    expect(mariadbContainerOptions({ rootPassword: 'r', snapshot: false }).env).toMatchObject({ MARIADB_ROOT_PASSWORD: 'r', MARIADB_PASSWORD: 'test' });
    expect(mariadbContainerOptions({ snapshot: false }).initSnapshot?.enabled).toBe(false);
  });

  it('connectionString() encodes what a URL cannot carry as it is', () => {
    const handle = { host: '127.0.0.1', port: (p: number) => (p === 3306 ? 40002 : 0) } as unknown as ContainerHandle;
    const db = new StartedMysql(new StartedContainer(handle), 'presets.mysql', 'us.er', 'p:ss/w?rd#', 'root', 'shop');
    expect(db.connectionString()).toBe('mysql://us.er:p%3Ass%2Fw%3Frd%23@127.0.0.1:40002/shop');
    expect(db.connectionString('shop_fork1')).toBe('mysql://us.er:p%3Ass%2Fw%3Frd%23@127.0.0.1:40002/shop_fork1');
  });
});
