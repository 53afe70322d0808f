import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { DEFAULT_DATABASE_TIMEOUTS } from '../config/config';
import { PACKAGE_ROOT } from '../package-root';

/** Where the schema lives: plain numbered .sql files an administrator can read and apply by hand. */
export const SQL_DIR = path.join(PACKAGE_ROOT, 'sql');

/** The schema files, in the order they apply; their names are what knex records as applied. */
export function sqlMigrationNames(dir: string = SQL_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d+_[a-z0-9_]+\.sql$/.test(f))
    .sort();
}

interface SqlMigration {
  name: string;
  file: string;
}

/**
 * knex migration source over `sql/NNN_name.sql`. knex records applied files in `knex_migrations`
 * and takes its migration lock, so running it at every start (and from several instances at once)
 * is idempotent.
 */
class SqlDirectoryMigrationSource implements Knex.MigrationSource<SqlMigration> {
  constructor(private readonly dir: string) {}

  getMigrations(): Promise<SqlMigration[]> {
    return Promise.resolve(sqlMigrationNames(this.dir).map((f) => ({ name: f, file: path.join(this.dir, f) })));
  }

  getMigrationName(m: SqlMigration): string {
    return m.name;
  }

  getMigration(m: SqlMigration): Promise<Knex.Migration> {
    const sql = fs.readFileSync(m.file, 'utf8');
    return Promise.resolve({
      up: async (knex: Knex) => {
        // A schema change may rewrite a large table: the pool's statement_timeout (sized for a
        // waiting caller) does not apply to it. lock_timeout still does, so a migration that cannot
        // get its table fails the start-up instead of queueing every booking behind it.
        await knex.raw('SET LOCAL statement_timeout = 0');
        // knex.raw treats `?` as a binding placeholder; the SQL files are literal text (regexes
        // like '^\+?[0-9]+$'), so every `?` is escaped to knex's literal form.
        await knex.raw(sql.replace(/\?/g, '\\?'));
      },
      down: () => Promise.reject(new Error(`${m.name}: schema changes are forward-only`)),
    });
  }
}

export interface DatabaseLog {
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface DatabaseOptions {
  poolMax?: number;
  log?: DatabaseLog;
  /**
   * false: every commit on this pool returns before its WAL reaches the disk (PostgreSQL's
   * `synchronous_commit = off`, set per connection). Only for records nobody was promised
   * anything on (see plugin.ts): a PostgreSQL crash may lose the last wal_writer_delay of them,
   * and any later synchronous commit (a booking) makes them durable with it, since the WAL is one
   * sequence.
   */
  synchronousCommit?: boolean;
  /**
   * PostgreSQL's statement_timeout and lock_timeout on every connection of this pool (default:
   * the `database` section's defaults; 0: off). A stalled database (a table lock held elsewhere, a
   * statement that hangs) then fails a booking within the bound, so the caller is told and keeps
   * the place, and the stalled statement gives its pool connection back.
   */
  statementTimeoutSec?: number;
  lockTimeoutSec?: number;
}

/** Startup options of every pooled connection (libpq's `options`, set before any statement runs). */
export function connectionOptions(opts: DatabaseOptions): string {
  const ms = (sec: number): number => Math.round(sec * 1000);
  return [
    `-c statement_timeout=${ms(opts.statementTimeoutSec ?? DEFAULT_DATABASE_TIMEOUTS.statementTimeoutSec)}`,
    `-c lock_timeout=${ms(opts.lockTimeoutSec ?? DEFAULT_DATABASE_TIMEOUTS.lockTimeoutSec)}`,
    ...(opts.synchronousCommit === false ? ['-c synchronous_commit=off'] : []),
  ].join(' ');
}

export function createDatabase(connectionString: string, opts: DatabaseOptions = {}): Knex {
  const log = opts.log;
  return knexFactory({
    // knex prints pool errors (e.g. "Acquire connection error" during an outage) to the console;
    // route them to our JSON logs instead.
    ...(log
      ? {
          log: {
            warn: (m: unknown) => log.warn('database', { detail: String(m) }),
            error: (m: unknown) => log.error('database', { detail: String(m) }),
            deprecate: (m: unknown) => log.warn('database deprecation', { detail: String(m) }),
            debug: () => undefined,
          },
        }
      : {}),
    client: 'pg',
    connection: {
      connectionString,
      application_name: 'direct-callback',
      options: connectionOptions(opts),
    },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    // A store that hangs must fail fast: the caller is waiting for "we will call you back".
    acquireConnectionTimeout: 5000,
  });
}

export async function migrate(db: Knex, dir: string = SQL_DIR): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: new SqlDirectoryMigrationSource(dir) })) as [number, string[]];
  return applied;
}
