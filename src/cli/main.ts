import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { Knex } from 'knex';
import { hashToken } from '../http/auth';
import { CallbackStatus, CallbackStore, StoredCallback } from '../store/callback-store';
import { createDatabase, migrate } from '../store/database';
import { packageVersion } from '../package-root';
import { databaseUrlFrom } from '../config/config';
import { apiTokenFrom, configPathFrom, loadEnvironmentFile, processEnvironment } from '../config/environment';

/**
 * `direct-callback`: the administrator's command line, and the package's bin.
 * `start` runs the plugin; `doctor` checks the installation; database commands use DATABASE_URL;
 * agent commands go through the REST API of a running plugin.
 */

const STATUSES: CallbackStatus[] = ['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'expired'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class UsageError extends Error {}

/** Ends the command with this exit code and nothing more on stderr (its output said it all). */
class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function withDb<T>(fn: (db: Knex) => Promise<T>): Promise<T> {
  let url: string | undefined;
  try {
    url = databaseUrlFrom();
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (!url) throw new UsageError('DATABASE_URL is not set (e.g. postgres://dc:secret@127.0.0.1/direct_callback), nor DATABASE_URL_FILE');
  const db = createDatabase(url, { poolMax: 2 });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

/**
 * The service's EnvironmentFile, read before the doctor looks at the environment. The option is
 * not called --env-file: Node 20 takes that flag from anywhere on the command line, after the
 * script name too, and exits (code 9) when the file is missing.
 */
function loadEnvFile(file: string): void {
  try {
    loadEnvironmentFile(file);
  } catch (e) {
    throw new UsageError(`--environment-file: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function callbackRow(c: StoredCallback): string[] {
  return [
    c.id,
    c.queueId,
    c.status,
    c.customerNumber,
    c.customerName ?? '',
    `${c.attempts}/${c.maxAttempts}`,
    c.requestedAt.toISOString(),
    c.notBefore?.toISOString() ?? '',
  ];
}

async function callApi(opts: { apiUrl: string; token?: string }, method: string, path: string): Promise<Record<string, unknown>> {
  const token = opts.token ?? apiTokenFrom();
  if (!token) throw new UsageError('no API token: pass --token or set DIRECT_CALLBACK_TOKEN');
  let res: Response;
  try {
    res = await fetch(`${opts.apiUrl.replace(/\/+$/, '')}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10000),
    });
  } catch (e) {
    throw new Error(
      `cannot reach the API at ${opts.apiUrl}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`,
      { cause: e },
    );
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new Error(`API answered ${res.status}: ${typeof body.error === 'string' ? body.error : res.statusText}`);
  return body;
}

export function buildProgram(): Command {
  const program = new Command('direct-callback')
    .description('Run and administer asterisk-direct-callback: the plugin, its install check, database, callbacks, agents, API tokens')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    // Unknown options and commands are errors (commander's default); say whose error it is.
    .configureOutput({ outputError: (text, write) => write(`direct-callback: ${text.replace(/^error: /, '')}`) })
    .exitOverride();

  program
    .command('start')
    .description('run the plugin until SIGTERM (what the systemd unit runs); logs are JSON lines on stderr')
    .option('--config <file>', 'the JSON configuration (default $DIRECT_CALLBACK_CONFIG)')
    .action(async (o: { config?: string }) => {
      // Loaded on use, like the doctor below: the other commands start without the plugin's modules.
      const { runPlugin } = await import('../run-plugin.js');
      await runPlugin(o.config ?? configPathFrom());
      // Runs until a signal ends the process (runPlugin's handler exits after a clean stop).
      await new Promise<never>(() => undefined);
    });

  program
    .command('doctor')
    .description(
      'check this installation (config, PostgreSQL, ARI, prompts, phones, trunk, Stasis app, dialplan over AMI): ✓ or ✗ with the fix; exit 1 on any ✗',
    )
    .option('--config <file>', 'the JSON configuration (default $DIRECT_CALLBACK_CONFIG)')
    .option(
      '--environment-file <file>',
      "read the service's settings from this file first, e.g. /etc/direct-callback/environment (variables already set win)",
    )
    .option('--running', 'the plugin is running: its Stasis app must be registered (by it) rather than free')
    .option('--json', 'print one JSON line {"ok":…,"checks":[{"name":…,"ok":…,"fix":…}],…}')
    .action(async (o: { config?: string; environmentFile?: string; running?: boolean; json?: boolean }) => {
      if (o.environmentFile !== undefined) loadEnvFile(o.environmentFile);
      const { runDoctor } = await import('../doctor/doctor.js');
      const { reportJson, reportText } = await import('../doctor/report.js');
      const report = await runDoctor({
        configPath: o.config ?? configPathFrom(),
        env: processEnvironment(),
        expectRunning: o.running === true,
      });
      out(o.json ? reportJson(report) : reportText(report));
      if (!report.ok) throw new ExitWith(1);
    });

  program
    .command('migrate')
    .description('apply the database schema (sql/*.sql); idempotent')
    .action(async () => {
      const applied = await withDb((db) => migrate(db));
      out(applied.length ? `applied: ${applied.join(', ')}` : 'schema up to date');
    });

  program
    .command('status')
    .description('queues and callback counts by status, from the database')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const rows = await withDb(
        async (db) =>
          (await db('callback_requests')
            .select('queue_id', 'status')
            .count<{ queue_id: string; status: string; n: string }[]>({ n: '*' })
            .groupBy('queue_id', 'status')
            .orderBy('queue_id')) as { queue_id: string; status: string; n: string }[],
      );
      const byQueue = new Map<string, Record<string, number>>();
      for (const r of rows) {
        const q = byQueue.get(r.queue_id) ?? Object.fromEntries(STATUSES.map((s) => [s, 0]));
        q[r.status] = Number(r.n);
        byQueue.set(r.queue_id, q);
      }
      if (o.json) return out(JSON.stringify({ queues: Object.fromEntries(byQueue) }));
      if (byQueue.size === 0) return out('no callbacks stored');
      out(table([['queue', ...STATUSES], ...[...byQueue].map(([q, c]) => [q, ...STATUSES.map((s) => String(c[s] ?? 0))])]));
    });

  const callbacks = program.command('callbacks').description('list or cancel stored callbacks');
  callbacks
    .command('list')
    .description('newest request first')
    .addOption(new Option('--status <status>', 'only this status').choices(STATUSES))
    .option('--queue <queue>', 'only this queue')
    .option('--limit <n>', 'at most n rows (1-1000)', '50')
    .option('--json', 'print JSON')
    .action(async (o: { status?: CallbackStatus; queue?: string; limit: string; json?: boolean }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new UsageError(`--limit: expected a whole number from 1 to 1000, got '${o.limit}'`);
      const list = await withDb((db) => new CallbackStore(db).list({ status: o.status, queueId: o.queue, limit }));
      if (o.json) return out(JSON.stringify({ callbacks: list }));
      if (list.length === 0) return out('no callbacks');
      out(table([['id', 'queue', 'status', 'number', 'name', 'attempts', 'requested', 'not before'], ...list.map(callbackRow)]));
    });
  callbacks
    .command('cancel <id>')
    .description('cancel a pending callback (a running plugin drops it at its next sync)')
    .option('--reason <text>', 'stored in the history', 'cancelled from the command line')
    .action(async (id: string, o: { reason: string }) => {
      if (!UUID.test(id)) throw new UsageError(`<id>: not a callback id (UUID): '${id}'`);
      await withDb(async (db) => {
        const store = new CallbackStore(db);
        const cb = await store.get(id);
        if (!cb) throw new Error(`no callback ${id}`);
        if (cb.status === 'in_progress') throw new Error(`callback ${id} is being dialled now; try again when the attempt ended`);
        if (cb.status !== 'pending' || !(await store.setStatus(id, 'cancelled', o.reason, new Date())))
          throw new Error(`callback ${id} is ${cb.status}, not pending`);
        out(`cancelled ${id}`);
      });
    });

  const agent = program.command('agent').description('agent presence, through the REST API of a running plugin');
  for (const action of ['login', 'logout', 'pause', 'unpause'] as const) {
    agent
      .command(`${action} <agentId>`)
      .description(`${action} an agent`)
      .option('--api-url <url>', 'the plugin’s HTTP address', 'http://127.0.0.1:8090')
      .option('--token <token>', 'an admin token (default: $DIRECT_CALLBACK_TOKEN)')
      .action(async (agentId: string, o: { apiUrl: string; token?: string }) => {
        const a = await callApi(o, 'POST', `/agents/${encodeURIComponent(agentId)}/${action}`);
        out(`${String(a.id)}: ${a.loggedIn ? (a.paused ? 'logged in, paused' : 'logged in') : 'logged out'}`);
      });
  }

  const token = program.command('token').description('API tokens');
  token
    .command('hash <token>')
    .description("print the SHA-256 to put in api.tokens[].sha256 ('-' reads the token from stdin)")
    .action((value: string) => {
      const t = value === '-' ? fs.readFileSync(0, 'utf8').trim() : value;
      if (t.length < 16) throw new UsageError('a token should be at least 16 characters (e.g. openssl rand -hex 24)');
      out(hashToken(t));
    });
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ExitWith) return e.code;
    if (e instanceof UsageError) {
      process.stderr.write(`direct-callback: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`direct-callback: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
