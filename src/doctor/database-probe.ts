import { createDatabase, sqlMigrationNames } from '../store/database';

/**
 * The doctor's view of PostgreSQL: can we log in, and which schema files are applied. Read-only
 * (knex's own migrate.list would create its tables on an empty database). Narrow, so a test can
 * stub it and the real-Asterisk level can reuse it.
 */
export interface SchemaState {
  /** Server version, e.g. `15.8`. */
  serverVersion: string;
  /** Names recorded in knex_migrations (empty when the table does not exist). */
  applied: string[];
}

export interface DatabaseProbe {
  /** Host/database for messages (never the password). */
  readonly description: string;
  /** Connects and reads; throws the driver's error when it cannot. */
  read(): Promise<SchemaState>;
}

/** `postgres://user:…@host:port/db` → `user@host:port/db` (socket paths decoded). */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = decodeURIComponent(u.hostname) || new URLSearchParams(u.search).get('host') || 'localhost';
    return `${decodeURIComponent(u.username) || '(os user)'}@${host}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

export function knexDatabaseProbe(url: string): DatabaseProbe {
  return {
    description: describeDatabaseUrl(url),
    async read(): Promise<SchemaState> {
      // knex would print pool errors on the console; the check reports the error itself.
      const db = createDatabase(url, { poolMax: 1, log: { warn: () => undefined, error: () => undefined } });
      try {
        const version = (await db.raw<{ rows: { server_version: string }[] }>('SHOW server_version')).rows[0]?.server_version ?? '?';
        const hasTable = await db.schema.hasTable('knex_migrations');
        const applied = hasTable ? (await db('knex_migrations').select<{ name: string }[]>('name').orderBy('id')).map((r) => r.name) : [];
        return { serverVersion: version, applied };
      } finally {
        await db.destroy();
      }
    },
  };
}

/** What this version's sql/ would still apply, and what the database has that sql/ does not know. */
export function schemaDifference(
  applied: readonly string[],
  shipped: readonly string[] = sqlMigrationNames(),
): { pending: string[]; unknown: string[] } {
  return { pending: shipped.filter((n) => !applied.includes(n)), unknown: applied.filter((n) => !shipped.includes(n)) };
}
