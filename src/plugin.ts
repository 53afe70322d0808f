import { Knex } from 'knex';
import { AppConfig } from './config/config';
import { capAriHttpConnections } from './ari/http-connections';
import { AriConnection, fetchAsteriskInfo } from './ari/ari-connection';
import { Leadership } from './cluster/leadership';
import { AriClientCallControl } from './ari/ari-client-adapter';
import { CallControl } from './ari/call-control';
import { Clock, systemClock } from './domain';
import { CallbackApp } from './engine/callback-app';
import { Logger, registerSecret } from './logging/logger';
import { CallbackStore } from './store/callback-store';
import { QueueEntryStore } from './store/queue-entry-store';
import { AgentPresenceStore } from './store/agent-presence-store';
import { announcementsSent, ChangeFeed } from './store/change-feed';
import { createDatabase, migrate } from './store/database';
import { HttpSurface, startHttpServer } from './http/server';
import { PluginMetrics } from './metrics/metrics';
import { AmiPresence, startAmiPresence } from './ami/ami-presence';
import { armCrashPoint } from './config/crash-points';

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
  leadership: Leadership;
  /** Resolves if this process loses the lead of its standby group (it has stopped by then). */
  lostLeadership: Promise<string>;
  stop(): Promise<void>;
}

/** The standby group: configured, or the Stasis app on the Asterisk the process reaches. */
async function standbyGroup(config: AppConfig, logger: Logger): Promise<string> {
  if (config.standby.group) return config.standby.group;
  for (let attempt = 0; ; attempt++) {
    try {
      const info = await fetchAsteriskInfo(config.ari.url, config.ari.user, config.ari.password);
      return `${config.ari.app}@${info.entityId}`;
    } catch (e) {
      // Nothing to lead until Asterisk answers (booting, restarting, or a wrong URL/password).
      logger.warn('waiting for Asterisk to learn the standby group', {
        url: config.ari.url,
        error: e instanceof Error ? e.message : String(e),
        attempt,
      });
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** Math.min(attempt, 5))));
    }
  }
}

/**
 * Agent presence from AMI (do-not-disturb, app_queue log-in and pause), when an AMI user is
 * configured. ARI stays the only call control; AMI is only watched.
 */
function startPresence(config: AppConfig, app: CallbackApp, logger: Logger): AmiPresence | undefined {
  const ami = config.ami;
  if (!ami) return undefined;
  const agents: Record<string, { presentity?: string; queueInterface?: string }> = {};
  for (const a of config.agents) if (a.ami) agents[a.id] = a.ami;
  const presence = startAmiPresence({ ami, agents: agents, logger });
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
  /** Tests wrap the call control to observe or hold requests (e.g. the order of a press 1's requests). */
  wrapControl?: (control: CallControl) => CallControl;
}

export async function startPlugin(config: AppConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningPlugin> {
  registerSecret(config.ari.password);
  registerSecret(config.ami?.password);
  armCrashPoint(config.crashAt);
  if (!config.databaseUrl) throw new Error('DATABASE_URL is not set');
  const db = createDatabase(config.databaseUrl, { log: logger, ...config.database });
  const applied = await migrate(db);
  if (applied.length > 0) logger.info('database schema applied', { migrations: applied });
  const store = new CallbackStore(db);
  // The queue's place records (arrivals, leavings, overflow actions) get a pool of their own with
  // asynchronous commit, so a booking (a caller waiting for "we will call you back") does not
  // queue behind them for connections and WAL flushes. They promise nobody anything: a place lost
  // with a PostgreSQL crash is restored from the channel's creation time, as an adopted caller's is.
  const placesDb = createDatabase(config.databaseUrl, { log: logger, synchronousCommit: false, ...config.database });
  // Only the leader of the standby group opens the ARI WebSocket; the others wait here.
  const group = await standbyGroup(config, logger);
  const leadership = new Leadership({ databaseUrl: config.databaseUrl, groupKey: group, holder: config.instanceId, logger });
  const term = await leadership.acquire((holder) =>
    logger.info('standby: another process leads this group; waiting to take over', { group, holder }),
  );
  logger.info('leading the standby group', { group, term: term.term, previousHolder: term.previousHolder });
  // Other instances' changes wake this one at once (LISTEN/NOTIFY); a slow re-read backs it up.
  const feed = new ChangeFeed(config.databaseUrl);
  await feed.start();
  // Before the first request: a burst must queue here, not at Asterisk's session limit.
  capAriHttpConnections(config.ari.maxConnections);
  const ari = new AriConnection({
    url: config.ari.url,
    user: config.ari.user,
    password: config.ari.password,
    app: config.ari.app,
    logger,
    // Cut off from the database, a new leader's WebSocket is how this process learns it lost.
    reclaimWhenReplaced: () => leadership.current === 'leading',
  });
  ari.on('replaced', () =>
    leadership.lose('Asterisk gave the Stasis app to another connection while this process was cut off from the database'),
  );
  const ariControl = new AriClientCallControl(ari, config.ari.app, () => leadership.mayAct, logger);
  const control = opts.wrapControl ? opts.wrapControl(ariControl) : ariControl;
  const app = new CallbackApp({
    config,
    control,
    store,
    clock: opts.clock ?? systemClock,
    logger,
    sharedState: { entries: new QueueEntryStore(placesDb), presence: new AgentPresenceStore(db), feed },
  });
  await app.start();
  ari.on('event', (e) => app.handleEvent(e));
  // The first connection's settling (which Asterisk this is, reconciliation, other instances'
  // callers) is done before the plugin says it is running.
  let firstSettle: Promise<void> | undefined;
  ari.on('connected', () => {
    const settled = app.onAriConnected();
    firstSettle ??= settled;
  });
  await ari.start();
  await firstSettle;
  // Claims held by the previous leader of this group (this very instance before a restart, or a
  // leader that died) belong to a process that no longer runs, or it would still hold the lock:
  // they are reclaimable now rather than at their lease's end.
  if (term.previousHolder !== null)
    await app
      .releaseClaimsOf(term.previousHolder)
      .catch((e: unknown) =>
        logger.warn('could not release the claims of a previous process; their leases expire instead', { error: String(e) }),
      );
  const lostLeadership = new Promise<string>((resolve) =>
    leadership.once('lost', (why) => {
      // Stop before anyone else can lead: no ARI request leaves this process any more.
      app.stop();
      void ari.stop();
      resolve(why);
    }),
  );
  const presence = startPresence(config, app, logger);
  const http = config.http.enabled
    ? await startHttpServer({ app, config, logger, metrics: new PluginMetrics({ app, db, isAriConnected: () => ari.isConnected }) })
    : undefined;
  // Logged once everything serves (calls, API): tools wait for this line.
  logger.info('plugin running', { ari: config.ari.url, app: config.ari.app, instanceId: config.instanceId, http: http !== undefined });
  return {
    app,
    ari,
    db,
    http,
    leadership,
    lostLeadership,
    stop: async () => {
      await http?.close();
      await presence?.stop();
      app.stop();
      await ari.stop();
      await feed.stop();
      await leadership.release();
      await announcementsSent(db); // the last changes reach the other instances
      await announcementsSent(placesDb);
      await db.destroy();
      await placesDb.destroy();
    },
  };
}
