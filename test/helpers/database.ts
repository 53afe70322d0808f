import { Knex } from 'knex';
import { createDatabase, migrate } from '../../src/store/database';
import { createScratchDatabase, findPostgresServer, PostgresServer, ScratchDatabase } from '../../tools/support/postgres-server';

/**
 * A real PostgreSQL for tests, never a mock: DATABASE_URL's server, else the local cluster, else
 * an embedded one. The server is found once per test run; each suite gets a fresh database of
 * its own (migrated by the same code the plugin runs at start) and drops it afterwards.
 */
let serverPromise: Promise<PostgresServer> | undefined;

export function testPostgresServer(): Promise<PostgresServer> {
  serverPromise ??= findPostgresServer();
  return serverPromise;
}

export interface TestDatabase {
  url: string;
  db: Knex;
  scratch: ScratchDatabase;
  close(): Promise<void>;
}

export async function freshDatabase(): Promise<TestDatabase> {
  const server = await testPostgresServer();
  const scratch = await createScratchDatabase(server, 'adc_test');
  const db = createDatabase(scratch.url, { poolMax: 5 });
  await migrate(db);
  return {
    url: scratch.url,
    db,
    scratch,
    close: async () => {
      await db.destroy();
      await scratch.drop();
    },
  };
}

/** Mocha root hook: stop an embedded server (if one was started) when the run ends. */
export const mochaHooks = {
  async afterAll(): Promise<void> {
    if (serverPromise) {
      const s = await serverPromise;
      // In parallel mode this runs after each file: the next file finds (or starts) a server anew.
      serverPromise = undefined;
      await s.stop();
    }
  },
};
