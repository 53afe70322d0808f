/**
 * The plugin run from source as a child process (PluginProcess's `{ config }` mode), started as
 * production starts it (startPlugin). Configuration: PLUGIN_CONFIG_JSON (the config file's JSON)
 * or --config FILE, plus the usual environment (ARI_URL, ARI_PASSWORD, DATABASE_URL, INSTANCE_ID,
 * LOG_LEVEL, DIRECT_CALLBACK_CRASH_AT).
 *
 * stdout carries one JSON object per line: {"ready":true,"pid":N} once connected, then with
 * --milestones {"milestone":name,...data} for every call milestone. The benchmark leaves
 * milestones off: at its load they are hundreds of lines a second that production does not write.
 * Logs go to stderr as usual.
 */
import { ConfigError, loadConfig, parseConfig, AppConfig } from '../../src/config/config';
import { createLogger } from '../../src/logging/logger';
import { startPlugin } from '../../src/plugin';

function readConfig(): AppConfig {
  const inline = process.env.PLUGIN_CONFIG_JSON;
  if (inline !== undefined) return parseConfig(JSON.parse(inline) as unknown, process.env);
  const i = process.argv.indexOf('--config');
  return loadConfig(i >= 0 ? process.argv[i + 1] : process.env.DIRECT_CALLBACK_CONFIG);
}

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = readConfig();
  } catch (e) {
    process.stderr.write(`plugin-entry: ${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const plugin = await startPlugin(config, createLogger({ level: config.logLevel }));
  if (process.argv.includes('--milestones')) plugin.app.on('milestone', (name, data) => emit({ milestone: name, ...data }));
  emit({ ready: true, pid: process.pid });
  const shutdown = (): void => {
    void plugin.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main().catch((e: unknown) => {
  process.stderr.write(`plugin-entry: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
