import { Knex } from 'knex';
import { Client } from 'pg';
import { testPostgresServer } from './database';

/**
 * Database faults the tests inject into a real PostgreSQL: the plugin's database made unreachable,
 * or one table held locked. Each touches only the test's own scratch database, never the suites
 * running beside it on the same server.
 */
async function asAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const server = await testPostgresServer();
  const c = new Client({ connectionString: server.adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The database `name` refuses new connections and its backends are terminated. */
export async function cutDatabase(name: string): Promise<void> {
  await asAdmin(async (c) => {
    await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  });
}

/** Undoes cutDatabase: new connections are accepted again. */
export async function restoreDatabase(name: string): Promise<void> {
  await asAdmin((c) => c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`));
}

export interface HeldLock {
  /** Rolls the holding transaction back; a second call does nothing. */
  release(): Promise<void>;
}

/** `table` locked ACCESS EXCLUSIVE by a transaction of `db` until released: every statement on it waits. */
export async function lockTable(db: Knex, table: string): Promise<HeldLock> {
  const holder = await db.transaction();
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    await holder.rollback();
  };
  try {
    await holder.raw(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  } catch (e) {
    await release();
    throw e;
  }
  return { release };
}
