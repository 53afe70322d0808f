import { Knex } from 'knex';

/**
 * Every SQL statement a knex instance sends (BEGIN and COMMIT included), in order, from now
 * until stop(): how tests count the database round trips a call waits on.
 */
export interface StatementLog {
  readonly statements: string[];
  /** Statements sent since a mark (an index into `statements`). */
  since(mark: number): string[];
  stop(): void;
}

export function logStatements(db: Knex): StatementLog {
  const statements: string[] = [];
  const listener = (q: { sql?: unknown }): void => {
    statements.push(typeof q.sql === 'string' ? q.sql.replace(/\s+/g, ' ').trim() : String(q.sql));
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
