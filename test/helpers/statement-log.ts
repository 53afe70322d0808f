import { Knex } from 'knex';

/**
 * Every SQL statement a knex instance sends (BEGIN and COMMIT included), in order, from now
 * until stop(): how tests count the database round trips a call waits on. The change feed's
 * announcements (`SELECT pg_notify`, src/store/change-feed.ts) are left out: they are sent after
 * the write has resolved and nobody waits on them, and they go out whenever the statement before
 * them has (those that queued meanwhile, together).
 */
export interface StatementLog {
  readonly statements: string[];
  /** Statements sent since a mark (an index into `statements`). */
  since(mark: number): string[];
  stop(): void;
}

/** A knex 'query' event's SQL on one line, or undefined for a change-feed announcement. */
export function statementOf(q: { sql?: unknown }): string | undefined {
  const sql = typeof q.sql === 'string' ? q.sql.replace(/\s+/g, ' ').trim() : String(q.sql);
  return sql.startsWith('SELECT pg_notify(') ? undefined : sql;
}

export function logStatements(db: Knex): StatementLog {
  const statements: string[] = [];
  const listener = (q: { sql?: unknown }): void => {
    const sql = statementOf(q);
    if (sql !== undefined) statements.push(sql);
  };
  db.on('query', listener);
  return {
    statements,
    since: (mark) => statements.slice(mark),
    stop: () => {
      db.off('query', listener);
    },
  };
}
