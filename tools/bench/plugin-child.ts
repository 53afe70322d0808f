/**
 * The plugin as the benchmark's child process: the same start as production (startPlugin), with
 * the configuration from FAULTS_CONFIG_JSON (PluginChild's convention) and the usual environment.
 * Unlike the fault harness's child it does not forward milestones: at 10,000 callers that is 500
 * JSON lines a second for the plugin to write and the benchmark process (which is also the
 * simulator being timed against) to parse and keep, load that production does not have.
 * Prints {"ready":true} once connected.
 */
import { ConfigError, parseConfig, AppConfig } from '../../src/config/config';
import { createLogger } from '../../src/logging/logger';
import { startPlugin } from '../../src/plugin';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = parseConfig(JSON.parse(process.env.FAULTS_CONFIG_JSON ?? '{}') as unknown, process.env);
  } catch (e) {
    process.stderr.write(`bench plugin-child: ${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const plugin = await startPlugin(config, createLogger({ level: config.logLevel }));
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
  const shutdown = (): void => {
    void plugin.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

void main().catch((e: unknown) => {
  process.stderr.write(`bench plugin-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
