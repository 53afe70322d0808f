import { Knex } from 'knex';
import { AppConfig } from './config/config';
import { AriConnection } from './ari/ari-connection';
import { AriClientCallControl } from './ari/ari-client-adapter';
import { Clock, systemClock } from './domain';
import { CallbackApp } from './engine/callback-app';
import { Logger, registerSecret } from './logging/logger';
import { CallbackStore } from './store/callback-store';
import { createDatabase, migrate } from './store/database';

/**
 * Wires the plugin together: database (schema applied at start), the ARI connection, and the
 * app. Used by `npm start`, the demo and the end-to-end tests alike.
 */
export interface RunningPlugin {
  app: CallbackApp;
  ari: AriConnection;
  db: Knex;
  stop(): Promise<void>;
}

export async function startPlugin(config: AppConfig, logger: Logger, opts: { clock?: Clock } = {}): Promise<RunningPlugin> {
  registerSecret(config.ari.password);
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set');
  const db = createDatabase(config.databaseUrl);
  const applied = await migrate(db);
  if (applied.length > 0) logger.info('database schema applied', { migrations: applied });
  const store = new CallbackStore(db);
  const ari = new AriConnection({ url: config.ari.url, user: config.ari.user, password: config.ari.password, app: config.ari.app, logger });
  const control = new AriClientCallControl(() => ari.current(), config.ari.app);
  const app = new CallbackApp({ config, control, store, clock: opts.clock ?? systemClock, logger });
  await app.start();
  ari.on('event', (e) => app.handleEvent(e));
  ari.on('connected', () => void app.onAriConnected());
  await ari.start();
  logger.info('plugin running', { ari: config.ari.url, app: config.ari.app, instanceId: config.instanceId });
  return {
    app,
    ari,
    db,
    stop: async () => {
      app.stop();
      await ari.stop();
      await db.destroy();
    },
  };
}
