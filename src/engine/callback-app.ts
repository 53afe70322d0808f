import { EventEmitter } from 'node:events';
import { AppConfig } from '../config/config';
import { AriEvent } from '../ari/ari-events';
import { CallControl } from '../ari/call-control';
import { watchPlays } from './play-watch';
import { Clock, TimerHandle, WorkItem } from '../domain';
import { Logger } from '../logging/logger';
import { CallbackStore } from '../store/callback-store';
import { CallMilestone } from '../calls/call-context';
import { AdminHost, LiveCounts } from './admin-port';
import { AdminService } from './admin-service';
import { AgentDirectory } from './agent-directory';
import { Dispatcher } from './dispatcher';
import { QueueBook } from './queue-book';
import { Reconciler } from './reconciler';
import { SessionContext } from './session-context';
import { SharedState, SharedStores } from './shared-state';
import { StoreSync } from './store-sync';
import { applyTimeRules } from './time-rules';

export interface CallbackAppEvents {
  milestone: [CallMilestone, Record<string, unknown>];
}

export interface CallbackAppDeps {
  config: AppConfig;
  control: CallControl;
  store: CallbackStore;
  clock: Clock;
  logger: Logger;
  /**
   * The state shared with other instances through PostgreSQL. The plugin always has it; an app
   * without it (the benchmark's in-process figures) keeps live callers in memory only.
   */
  sharedState?: SharedStores;
}

/**
 * The application, wired: the queues (QueueBook), who is served next (Dispatcher), what the call
 * sessions see (SessionContext, which routes calls in and runs callback attempts), the database's
 * changes (StoreSync, SharedState), the time rules, reconciliation after every ARI (re)connection,
 * and the operations of the API, panel and metrics (`admin`). It owns the lifecycle: start, the
 * one-second tick, ARI (re)connection, stop.
 */
export class CallbackApp extends EventEmitter<CallbackAppEvents> implements AdminHost {
  readonly config: AppConfig;
  readonly control: CallControl;
  readonly store: CallbackStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly agents: AgentDirectory;
  readonly book: QueueBook;
  /** The CallContext of every call session. */
  readonly calls: SessionContext;
  /** What the API, the agent panel and the metrics act on. */
  readonly admin: AdminService;
  readonly reconciler: Reconciler;
  /** The Asterisk this process serves (its entity id), known once ARI answered. */
  asteriskId: string | undefined;
  asteriskVersion: string | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly storeSync: StoreSync;
  private readonly shared: SharedState;
  private ticks = 0;
  private readonly syncEveryTicks: number;
  private readonly timeRulesEveryTicks: number;
  private tickTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(deps: CallbackAppDeps) {
    super();
    const { config, control, store, clock, logger } = deps;
    this.config = config;
    this.control = control;
    this.store = store;
    this.clock = clock;
    this.logger = logger;
    const dispatchSoon = () => this.dispatchSoon();
    const agents = (this.agents = new AgentDirectory(config.agents, clock.now()));
    const book = (this.book = new QueueBook(config, agents, clock, logger));
    this.dispatcher = new Dispatcher(config, book, agents, clock, {
      startCallback: (entry, queue, agentId) => this.calls.attempts.start(entry, queue, agentId),
    });
    this.storeSync = new StoreSync({ logger, store, book, placeCallback: (cb) => book.addCallback(cb), dispatchSoon });
    this.shared = new SharedState({
      stores: deps.sharedState,
      config,
      logger,
      agents,
      book,
      storeSync: this.storeSync,
      asteriskId: () => this.asteriskId,
      ownCallerIds: () => this.dispatcher.callerIds(),
      dispatchSoon,
    });
    // One control for the sessions and the reconciler: the shared holding bridges are kept per
    // control object (HoldingBridges.of), and the reconciler, with a registry of its own, saw no
    // member in a bridge a caller was being added to and destroyed it (fuzzer: a 404, dead air).
    const callControl = watchPlays(control, () => this.reconciler);
    const calls = (this.calls = new SessionContext({
      config,
      control: callControl,
      store,
      clock,
      logger,
      agents,
      book,
      dispatcher: this.dispatcher,
      shared: this.shared,
      dispatchSoon,
      milestone: (name, data) => this.emit('milestone', name, data),
      setAgentPresence: (agentId, change, source) => this.admin.setAgentPresence(agentId, change, source),
    }));
    this.admin = new AdminService({
      store,
      clock,
      agents,
      book,
      attempts: calls.attempts,
      shared: this.shared,
      milestones: this,
      dispatchSoon,
      liveCounts: () => this.liveCounts(),
    });
    // The reconciler settles what sessions own and adopts what nobody owns: it sees the router,
    // the running attempts, and the app's event entry (its missed events go the normal way).
    this.reconciler = new Reconciler({
      config,
      control: callControl,
      store,
      logger,
      dispatchSoon,
      boundChannelIds: () => calls.router.boundChannelIds(),
      handleEvent: (event) => this.handleEvent(event),
      bind: (channelId, session) => calls.bind(channelId, session),
      unbind: (channelId) => calls.unbind(channelId),
      callbackAttemptEnded: (stored) => calls.callbackAttemptEnded(stored),
      adoptQueueCaller: (channel, args, bridgeId) => calls.router.adoptQueueCaller(channel, args, bridgeId),
      resumePreview: (agentLeg, customerLeg, callbackId) => calls.attempts.resumePreview(agentLeg, customerLeg, callbackId),
    });
    this.syncEveryTicks = Math.max(1, Math.round(config.callback.syncIntervalSec));
    this.timeRulesEveryTicks = Math.max(1, Math.round(config.callback.timeRulesIntervalSec));
  }

  /** Rebuilds the queues from stored callbacks and starts the dispatch tick. */
  async start(): Promise<void> {
    await this.shared.restorePresence();
    const open = await this.storeSync.loadAll();
    this.logger.info('callback app started', { queues: this.book.queueIds(), agents: this.agents.all().length, openCallbacks: open });
    this.tick();
  }

  /** Called on every ARI (re)connection: subscribe to agents' phones and read their states. */
  async onAriConnected(): Promise<void> {
    try {
      const info = await this.control.asteriskInfo();
      if (this.asteriskId !== undefined && this.asteriskId !== info.entityId)
        this.logger.warn('ARI now reaches another Asterisk', { was: this.asteriskId, now: info.entityId });
      this.asteriskId = info.entityId;
      this.asteriskVersion = info.version;
    } catch (e) {
      this.logger.warn('could not read the Asterisk entity id', { error: String(e) });
    }
    // The calls first: the reconciliation (a caller or agent answered in the gap waits in silence
    // for it) runs beside the device states' reads, one per agent, which only dispatch needs (the
    // fuzzer: 100 device reads delayed a lost StasisStart's delivery by a second).
    await Promise.all([this.reconcile(), this.readDeviceStates()]);
    await this.shared.loadCallers();
    this.dispatchSoon();
  }

  /** Device states: subscribed, then each agent's read once (the events carry the changes from here). */
  private async readDeviceStates(): Promise<void> {
    const devices = this.agents.deviceNames();
    try {
      await this.control.subscribe(devices.map((d) => `deviceState:${d}`));
    } catch (e) {
      this.logger.warn('device state subscription failed', { error: String(e) });
    }
    await Promise.all(
      devices.map(async (d) => {
        try {
          this.agents.setDeviceState(d, await this.control.getDeviceState(d), this.clock.now());
        } catch (e) {
          this.logger.warn('device state unknown', { device: d, error: String(e) });
        }
      }),
    );
  }

  /** The claims of a process that no longer runs become reclaimable now (see plugin.ts). */
  async releaseClaimsOf(holder: string): Promise<void> {
    // A restarted instance has its predecessor's id: the attempts it runs already (taken up by
    // the reconciler, or dispatched since it connected) are its own, not the dead process's.
    const running = [...this.book.callbackEntries()].filter(([, e]) => e.pending.inFlight).map(([id]) => id);
    const released = await this.store.expireClaimsOf(holder, new Date(this.clock.now()), running);
    for (const cb of released) this.storeSync.apply(cb);
    if (released.length > 0) this.logger.info('claims of a process that no longer runs released', { holder, callbacks: released.length });
    this.dispatchSoon();
  }

  /** Events in a WebSocket gap are lost: settle with what Asterisk lists now. */
  async reconcile(): Promise<void> {
    await this.reconciler.reconcile();
  }

  stop(): void {
    this.stopped = true;
    this.shared.stop();
    this.dispatcher.stop();
    if (this.tickTimer) this.clock.clearTimer(this.tickTimer);
  }

  /** Reads the callbacks changed since the last look (other instances, the API, the CLI). */
  syncWithStore(): Promise<void> {
    return this.storeSync.sync();
  }

  /** Every ARI event: phones' states go to the agents, the rest to the session of its channel. */
  handleEvent(event: AriEvent): void {
    // A malformed event (fields missing) is logged, never thrown.
    try {
      this.reconciler.observe(event);
      if (event.type === 'DeviceStateChanged') {
        if (this.agents.setDeviceState(event.device_state.name, event.device_state.state, this.clock.now())) this.dispatchSoon();
        return;
      }
      this.calls.router.route(event);
    } catch (e) {
      this.logger.warn('ARI event could not be handled', {
        type: (event as { type?: unknown } | null | undefined)?.type,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  applyAmiPresence(agentId: string, callsAllowed: boolean): void {
    if (this.agents.applyAmiPresence(agentId, callsAllowed)) this.dispatchSoon();
  }

  applyAmiQueueMembership(agentId: string, loggedIn: boolean, paused: boolean): void {
    if (this.agents.applyAmiQueueMembership(agentId, loggedIn, paused)) this.dispatchSoon();
  }

  /** One queue's order as this process sees it now (tests and the benchmark). */
  queueSnapshot(queueId: string): { waiting: number; callers: number; callbacks: number; items: readonly WorkItem[] } | undefined {
    return this.book.snapshot(queueId);
  }

  get liveSessions(): number {
    return this.calls.router.liveSessions;
  }

  /** What the engine holds for calls right now: see LiveCounts. */
  liveCounts(): LiveCounts {
    const counts: LiveCounts = {
      sessions: this.calls.router.liveSessions,
      boundChannels: this.calls.router.boundChannelIds().length,
      dispatchCallers: this.dispatcher.callerIds().length,
      queuedCallers: 0,
      remoteCallers: this.book.remoteCallerIds().length,
      callbacks: 0,
      attemptsRunning: 0,
      agentsOnPluginCall: this.agents.all().filter((a) => a.onPluginCall).length,
    };
    for (const id of this.book.queueIds()) counts.queuedCallers += this.book.snapshot(id)?.callers ?? 0;
    for (const [, entry] of this.book.callbackEntries()) {
      counts.callbacks += 1;
      if (entry.pending.inFlight) counts.attemptsRunning += 1;
    }
    return counts;
  }

  private dispatchSoon(): void {
    if (!this.stopped) this.dispatcher.soon();
  }

  private tick(): void {
    if (this.stopped) return;
    // Retry spacing, decline windows and wrap-up all expire with time: look again every second.
    this.dispatchSoon();
    this.ticks += 1;
    // Callbacks written by other instances or the API, and expired leases, are picked up here.
    if (this.ticks % this.syncEveryTicks === 0) void this.syncWithStore();
    if (this.ticks % this.timeRulesEveryTicks === 0) void applyTimeRules(this.calls);
    this.tickTimer = this.clock.setTimer(() => this.tick(), 1000);
  }
}
