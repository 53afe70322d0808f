import { Knex } from 'knex';
import { AppConfig } from './config/config';
import { AriConnection } from './ari/ari-connection';
import { AriClientCallControl } from './ari/ari-client-adapter';
import { CallControl } from './ari/call-control';
import { Clock, systemClock } from './domain';
import { CallbackApp } from './engine/callback-app';
import { Logger, registerSecret } from './logging/logger';
import { CallbackStore } from './store/callback-store';
import { createDatabase, migrate } from './store/database';
import { HttpSurface, startHttpServer } from './http/server';
import { PluginMetrics } from './metrics/metrics';
import { amiConfigFromEnv } from './ami/ami-config';
import { AmiPresence, AgentAmiMap, startAmiPresence } from './ami/presence-tracker';

/**
 * Wires the plugin together: database (schema applied at start), the ARI connection, and the
 * app. Used by `npm start`, the demo and the end-to-end tests alike.
 */
export interface RunningPlugin {
  app: CallbackApp;
  ari: AriConnection;
  db: Knex;
  /** The REST API, agent panel and metrics (config `http.enabled`). */
  http?: HttpSurface;
  stop(): Promise<void>;
}

/**
 * Agent presence from AMI (do-not-disturb, app_queue log-in and pause), when AMI_USER is set.
 * ARI stays the only call control; AMI is only watched.
 */
function startPresence(config: AppConfig, app: CallbackApp, logger: Logger, env: NodeJS.ProcessEnv): AmiPresence | undefined {
  const ami = amiConfigFromEnv(env);
  if (!ami) return undefined;
  const agents: Record<string, { presentity?: string; queueInterface?: string }> = {};
  for (const a of config.agents) if (a.ami) agents[a.id] = a.ami;
  const presence = startAmiPresence({ ami, agents: agents as AgentAmiMap, logger });
  presence.on('update', (u) => {
    if (u.kind === 'presence') app.applyAmiPresence(u.agentId, u.available);
    else {
      const summary = presence.summary(u.agentId);
      app.applyAmiQueueMembership(u.agentId, summary.loggedIn ?? u.loggedIn, summary.paused ?? u.paused);
    }
  });
  logger.info('AMI presence enabled', { host: ami.host, port: ami.port, agents: Object.keys(agents) });
  return presence;
}

export interface StartOptions {
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Tests wrap the call control to observe or hold requests (e.g. the order of a press 1's requests). */
  wrapControl?: (control: CallControl) => CallControl;
}

export async function startPlugin(config: AppConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningPlugin> {
  registerSecret(config.ari.password);
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set');
  const db = createDatabase(config.databaseUrl, { log: logger });
  const applied = await migrate(db);
  if (applied.length > 0) logger.info('database schema applied', { migrations: applied });
  const store = new CallbackStore(db);
  const ari = new AriConnection({ url: config.ari.url, user: config.ari.user, password: config.ari.password, app: config.ari.app, logger });
  const ariControl = new AriClientCallControl(() => ari.current(), config.ari.app);
  const control = opts.wrapControl ? opts.wrapControl(ariControl) : ariControl;
  const app = new CallbackApp({ config, control, store, clock: opts.clock ?? systemClock, logger });
  await app.start();
  ari.on('event', (e) => app.handleEvent(e));
  ari.on('connected', () => void app.onAriConnected());
  await ari.start();
  logger.info('plugin running', { ari: config.ari.url, app: config.ari.app, instanceId: config.instanceId });
  const presence = startPresence(config, app, logger, opts.env ?? process.env);
  const http = config.http.enabled ? await startHttpServer({ app, config, logger, metrics: new PluginMetrics({ app, db, isAriConnected: () => ari.isConnected }) }) : undefined;
  return {
    app,
    ari,
    db,
    http,
    stop: async () => {
      await http?.close();
      await presence?.stop();
      app.stop();
      await ari.stop();
      await db.destroy();
    },
  };
}
