import { EventEmitter } from 'node:events';
import { Logger } from '../logging/logger';
import { AmiConnection, AmiConnectionOptions } from './ami-connection';
import { AmiActionError } from './ami-messages';
import { AgentAmiMap, AgentPresenceSummary, PresenceTracker, PresenceUpdate } from './presence-tracker';

/**
 * The AMI side of presence: one connection, the start-up reads after every (re)connect, and the
 * events fed to a PresenceTracker, whose changes are emitted as `update`.
 */

export interface AmiPresenceOptions {
  /** Where and how to log in (config.ami, and tuning for tests). */
  ami: Pick<AmiConnectionOptions, 'host' | 'port' | 'username' | 'password'> &
    Partial<
      Pick<AmiConnectionOptions, 'actionTimeoutMs' | 'loginTimeoutMs' | 'minDelayMs' | 'maxDelayMs' | 'stableAfterMs' | 'pingIntervalMs'>
    >;
  agents: AgentAmiMap;
  queues?: readonly string[];
  logger: Logger;
  /** Timeout of each start-up read (QueueStatus lists can be long). Default 10000 ms. */
  syncTimeoutMs?: number;
  /** Delay before retrying a failed start-up read while still connected. Default 5000 ms. */
  resyncDelayMs?: number;
}

export interface AmiPresenceEvents {
  update: [PresenceUpdate];
  /** AMI up / down. While down, presence is stale (the app decides what to assume). */
  connection: [{ connected: boolean }];
  /** The start-up state (presence + queue status) has been read after a (re)connect. */
  synced: [];
}

interface AmiPresenceImpl {
  summary(agentId: string): AgentPresenceSummary;
  isConnected(): boolean;
  stop(): Promise<void>;
}

/** What startAmiPresence returns: `on('update', fn)`, `on('connection', fn)`, `on('synced', fn)`. */
export class AmiPresence extends EventEmitter<AmiPresenceEvents> {
  /** @internal built by startAmiPresence */
  constructor(private readonly impl: AmiPresenceImpl) {
    super();
  }

  /** Folded state of one agent. */
  summary(agentId: string): AgentPresenceSummary {
    return this.impl.summary(agentId);
  }

  isConnected(): boolean {
    return this.impl.isConnected();
  }

  /** Stops following AMI and closes the connection. */
  stop(): Promise<void> {
    return this.impl.stop();
  }
}

/**
 * Connects to AMI, reads the current presence / queue state at every (re)connect (events of a gap
 * are lost), then follows events. Updates are emitted only on change.
 */
export function startAmiPresence(opts: AmiPresenceOptions): AmiPresence {
  const log = opts.logger.child({ component: 'ami-presence' });
  const tracker = new PresenceTracker({ agents: opts.agents, queues: opts.queues, logger: log });
  const conn = new AmiConnection({ ...opts.ami, logger: opts.logger });
  const syncTimeoutMs = opts.syncTimeoutMs ?? 10_000;
  const resyncDelayMs = opts.resyncDelayMs ?? 5000;
  let session = 0;
  let resyncTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const handle = new AmiPresence({
    summary: (agentId) => tracker.summary(agentId),
    isConnected: () => conn.isReady(),
    async stop() {
      stopped = true;
      session++;
      if (resyncTimer) clearTimeout(resyncTimer);
      await conn.stop();
    },
  });
  const emitter = handle;

  const publish = (updates: PresenceUpdate[]): void => {
    for (const u of updates) {
      try {
        emitter.emit('update', u);
      } catch (err) {
        log.error('presence update listener failed', { error: err instanceof Error ? err.message : String(err) });
      }
    }
  };

  const sync = async (mySession: number): Promise<void> => {
    const live = (): boolean => mySession === session && !stopped;
    try {
      if (tracker.usesQueues()) {
        tracker.beginQueueSync();
        const queues = tracker.watchedQueues();
        const requests = queues ? queues.map((q) => ({ action: 'QueueStatus', Queue: q })) : [{ action: 'QueueStatus' }];
        for (const req of requests) {
          await conn.actionList(req, { timeoutMs: syncTimeoutMs, onEvent: (e) => live() && publish(tracker.handleQueueStatusRow(e)) });
          if (!live()) return;
        }
        publish(tracker.endQueueSync());
      }
      for (const presentity of tracker.presentities()) {
        try {
          const res = await conn.action({ action: 'PresenceState', Provider: presentity }, { timeoutMs: syncTimeoutMs });
          if (!live()) return;
          publish(tracker.handlePresenceStateResponse(presentity, res));
        } catch (err) {
          // One bad presentity (typo, provider not loaded) must not block the others.
          if (err instanceof AmiActionError && err.kind === 'rejected') {
            log.warn('ami presence state read refused', { presentity, error: err.message });
            continue;
          }
          throw err;
        }
      }
      if (!live()) return;
      log.info('ami presence synced', { presentities: tracker.presentities().length, queues: tracker.watchedQueues() ?? 'all' });
      emitter.emit('synced');
    } catch (err) {
      tracker.abortQueueSync();
      if (!live()) return;
      log.warn('ami presence sync failed; retrying', { error: err instanceof Error ? err.message : String(err), inMs: resyncDelayMs });
      resyncTimer = setTimeout(() => {
        if (live() && conn.isReady()) void sync(mySession);
      }, resyncDelayMs);
    }
  };

  conn.on('connected', () => {
    const mySession = ++session;
    emitter.emit('connection', { connected: true });
    void sync(mySession);
  });
  conn.on('disconnected', () => {
    session++;
    if (resyncTimer) clearTimeout(resyncTimer);
    tracker.abortQueueSync();
    emitter.emit('connection', { connected: false });
  });
  conn.on('event', (event) => publish(tracker.handleEvent(event)));
  conn.start();
  return handle;
}
