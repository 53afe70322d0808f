import { AppConfig, ConfigError, loadConfig } from '../config/config';
import { Environment } from '../config/environment';
import { sqlMigrationNames } from '../store/database';
import { DatabaseProbe, SchemaState, schemaDifference } from './database-probe';
import { CheckResult, failed, passed, SkippedCheck } from './report';

/**
 * The doctor's checks, one function each, over narrow inputs (an AriHttp, a DatabaseProbe, a
 * Dialplan, the config), so each runs alone against the simulator, a real Asterisk or a stub.
 * Each says what it found and, when it fails, what to change. This file holds the checks that need
 * no Asterisk (config, database, schema); ari-checks.ts and dialplan-checks.ts hold the rest.
 */

export type CheckOutcome = CheckResult | SkippedCheck;

export function isSkipped(o: CheckOutcome): o is SkippedCheck {
  return 'reason' in o;
}

// ---- config ---------------------------------------------------------------------------------

export function checkConfig(configPath: string | undefined, env: Environment): { check: CheckResult; config?: AppConfig } {
  const source = configPath ?? '(no config file: defaults and environment only)';
  try {
    const config = loadConfig(configPath, env);
    return {
      check: passed(
        'config',
        `${source}: ${config.queues.length} queue(s), ${config.agents.length} agent(s), Stasis app '${config.ari.app}'`,
      ),
      config,
    };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { check: failed('config', e.message, configFix(e.message, configPath)) };
  }
}

function configFix(message: string, configPath: string | undefined): string {
  if (/^(AMI_|an AMI user)/.test(message))
    return 'set AMI_USER with AMI_PASSWORD_FILE (a file holding the manager.conf secret), or unset AMI_USER to skip the dialplan checks';
  if (configPath)
    return `correct the field named above in ${configPath} (example: docker/direct-callback.example.json in the package); secrets come from ARI_PASSWORD_FILE, never the file`;
  return 'pass --config FILE or set DIRECT_CALLBACK_CONFIG, and set ARI_PASSWORD_FILE (see README "Install on a Debian host")';
}

// ---- database -------------------------------------------------------------------------------

export async function checkDatabase(
  databaseUrl: string | undefined,
  probe: (url: string) => DatabaseProbe,
): Promise<{ check: CheckResult; state?: SchemaState }> {
  if (!databaseUrl)
    return {
      check: failed(
        'database',
        'DATABASE_URL is not set',
        'set DATABASE_URL, e.g. postgres://direct-callback@%2Fvar%2Frun%2Fpostgresql/direct_callback (local socket, peer login), or DATABASE_URL_FILE (a file holding a URL with a password)',
      ),
    };
  const p = probe(databaseUrl);
  try {
    const state = await p.read();
    return { check: passed('database', `PostgreSQL ${state.serverVersion} at ${p.description}`), state };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const fix = /password authentication failed|no password supplied|peer authentication failed|role .* does not exist/i.test(message)
      ? 'the role in DATABASE_URL cannot log in: create it (createuser), use the local socket with a role named after the service user, or put a URL with the password in DATABASE_URL_FILE'
      : /database .* does not exist/i.test(message)
        ? 'create the database: sudo -u postgres createdb -O <role> <name>'
        : 'start PostgreSQL and check host, port and socket in DATABASE_URL (pg_lsclusters shows the local clusters)';
    return { check: failed('database', `cannot use ${p.description}: ${message}`, fix) };
  }
}

export function checkSchema(state: SchemaState, shipped: readonly string[] = sqlMigrationNames()): CheckResult {
  const { pending, unknown } = schemaDifference(state.applied, shipped);
  if (unknown.length > 0) {
    return failed(
      'schema',
      `the database has schema changes this version does not ship: ${unknown.join(', ')}`,
      'a newer version of the plugin ran on this database: install that version again (the schema is forward-only)',
    );
  }
  if (pending.length > 0) {
    return failed(
      'schema',
      `${pending.length} of ${shipped.length} schema files not applied: ${pending.join(', ')}`,
      'run `direct-callback migrate` with the same DATABASE_URL (the plugin also applies them when it starts, if its role may create tables)',
    );
  }
  return passed('schema', `current (${shipped.length} schema files applied)`);
}
