import { ConfigError, loadConfig } from './config/config';
import { createLogger } from './logging/logger';
import { startPlugin } from './plugin';

/**
 * Runs the plugin until SIGTERM/SIGINT, then stops it and ends the process: what `npm start`
 * (src/main.ts) and `direct-callback start` (the systemd unit) do. Logs are JSON lines on stderr.
 */
export async function runPlugin(configPath: string | undefined): Promise<void> {
  let config;
  try {
    config = loadConfig(configPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`direct-callback: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger({ level: config.logLevel });
  const plugin = await startPlugin(config, logger);
  void plugin.lostLeadership.then((why) => {
    // Another process of the standby group may lead now; this one starts again as a standby
    // (systemd's Restart=on-failure, or Docker's restart policy).
    logger.error('lost the lead of the standby group; exiting', { why });
    process.exit(3);
  });
  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    void plugin.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
