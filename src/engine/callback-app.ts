import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { AppConfig, QueueConfig, numberPolicyOf } from '../config/config';
import { AriChannel, AriEvent } from '../ari/ari-events';
import { CallControl } from '../ari/call-control';
import { ActionInForce, AgentState, Clock, createSeqCounter, DEFAULT_LANGUAGE, TimerHandle, WorkItem } from '../domain';
import { checkNumberPolicy, normalizeNumber, SlidingWindowRateLimiter } from '../domain/policies';
import { Logger } from '../logging/logger';
import { CallbackRow, CallbackStore, StoredCallback, toCallback } from '../store/callback-store';
import { QueueEntry, QueueEntryStore, QueueExitReason, toQueueEntry } from '../store/queue-entry-store';
import { AgentPresenceStore, PresenceSource, toAgentPresence } from '../store/agent-presence-store';
import { ChangeFeed } from '../store/change-feed';
import { CallContext, CallMilestone, ChannelSession } from '../calls/call-context';
import { PreviewCallSession } from '../calls/preview-call-session';
import { CustomerFirstSession } from '../calls/customer-first-session';
import { holdingBridgeIdOf } from '../calls/channel-ids';
import { AgentDirectory } from './agent-directory';
import { CallRouter } from './call-router';
import { Dispatcher } from './dispatcher';
import { CallbackEntry, QueueBook, QueueFigures } from './queue-book';
import { Reconciler } from './reconciler';
import { StoreSync } from './store-sync';
import { applyTimeRules } from './time-rules';

/** A callback request refused by policy; the message starts with the field at fault. */
export class CallbackRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackRefused';
  }
}

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
   * The state shared with other instances through PostgreSQL: live callers' places, agents'
   * presence, and the change notifications that wake this process. The plugin always has them;
   * an app without them (the benchmark's in-process figures) keeps live callers in memory only.
   */
  sharedState?: { entries: QueueEntryStore; presence: AgentPresenceStore; feed?: ChangeFeed };
}

/** `2026-11-24T10:00:00.123+0000` (ARI) → epoch ms, or undefined. */
function ariTime(ts: string | undefined): number | undefined {
  if (!ts) return undefined;
  const ms = Date.parse(ts.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : undefined;
}

/** A stored place whose channel was created at another time belongs to an earlier channel with the same id. */
const CREATION_TIME_TOLERANCE_MS = 2000;

/**
 * The application, wired: where calls enter (CallRouter), the queues (QueueBook), who is served
 * next (Dispatcher), the database's changes (StoreSync), the time rules, and reconciliation
 * after every ARI (re)connection. Each call's state lives in its session object; this class is
 * what the sessions see of the rest of the process (CallContext), and what the surfaces (API,
 * metrics, panel) call.
 */
export class CallbackApp extends EventEmitter<CallbackAppEvents> implements CallContext {
  readonly config: AppConfig;
  readonly control: CallControl;
  readonly store: CallbackStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly agents: AgentDirectory;
  readonly book: QueueBook;
  private readonly dispatcher: Dispatcher;
  private readonly router: CallRouter;
  private readonly storeSync: StoreSync;
  private readonly previews = new Map<string, PreviewCallSession>();
  private readonly rateLimiters = new Map<string, SlidingWindowRateLimiter>();
  private readonly nextSeq = createSeqCounter();
  private readonly shared: CallbackAppDeps['sharedState'];
  /** The Asterisk this process serves (its entity id), known once ARI answered. */
  asteriskId: string | undefined;
  asteriskVersion: string | undefined;
  /** The newest stored presence applied per agent (its updated_at), so stale notifications are skipped. */
  private readonly presenceSeenAt = new Map<string, number>();
  /** State rebuilt after every ARI (re)connection: src/engine/reconciler.ts. */
  readonly reconciler: Reconciler;
  private ticks = 0;
  private readonly syncEveryTicks: number;
  private readonly timeRulesEveryTicks: number;
  private tickTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(deps: CallbackAppDeps) {
    super();
    this.config = deps.config;
    this.control = deps.control;
    this.store = deps.store;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.agents = new AgentDirectory(deps.config.agents, deps.clock.now());
    this.book = new QueueBook(deps.config, this.agents, deps.clock, deps.logger);
    this.dispatcher = new Dispatcher(deps.config, this.book, this.agents, deps.clock, { startCallback: (entry, queue, agentId) => this.startCallbackAttempt(entry, queue, agentId) });
    this.router = new CallRouter(this, this.book, this.agents, this.dispatcher, this.nextSeq);
    this.storeSync = new StoreSync(this);
    this.reconciler = new Reconciler(this);
    this.shared = deps.sharedState;
    deps.sharedState?.feed?.on('change', (c) => this.onSharedChange(c.table, c.row));
    deps.sharedState?.feed?.on('resync', () => void this.resyncShared());
    deps.sharedState?.feed?.on('error', (e) => this.logger.warn('database change feed', { error: e.message }));
    this.syncEveryTicks = Math.max(1, Math.round(deps.config.callback.syncIntervalSec));
    this.timeRulesEveryTicks = Math.max(1, Math.round(deps.config.callback.timeRulesIntervalSec));
  }

  /** Rebuilds the queues from stored callbacks and starts the dispatch tick. */
  async start(): Promise<void> {
    await this.restorePresence();
    const open = await this.storeSync.loadAll();
    this.logger.info('callback app started', { queues: this.book.queueIds(), agents: this.agents.all().length, openCallbacks: open });
    this.tick();
  }

  /** Called on every ARI (re)connection: subscribe to agents' phones and read their states. */
  async onAriConnected(): Promise<void> {
    try {
      const info = await this.control.asteriskInfo();
      if (this.asteriskId !== undefined && this.asteriskId !== info.entityId) this.logger.warn('ARI now reaches another Asterisk', { was: this.asteriskId, now: info.entityId });
      this.asteriskId = info.entityId;
      this.asteriskVersion = info.version;
    } catch (e) {
      this.logger.warn('could not read the Asterisk entity id', { error: String(e) });
    }
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
    await this.reconcile();
    await this.loadSharedCallers();
    this.dispatchSoon();
  }

  // ---- state shared with other instances ------------------------------------------------------

  /** Log-in and pause as last set (API, panel, feature code), whatever the config file says. */
  private async restorePresence(): Promise<void> {
    if (!this.shared) return;
    try {
      for (const p of await this.shared.presence.all()) {
        this.presenceSeenAt.set(p.agentId, p.updatedAt.getTime());
        this.agents.restorePresence(p.agentId, p.loggedIn, p.paused);
      }
    } catch (e) {
      this.logger.warn('agent presence not restored from the database; the config applies', { error: String(e) });
    }
  }

  /**
   * Every open place from the database: other Asterisks' live callers join the order (positions
   * count them), and places of this Asterisk that no live caller holds any more (the call ended
   * while no process was serving it) are closed.
   */
  private async loadSharedCallers(): Promise<void> {
    if (!this.shared || this.asteriskId === undefined) return;
    try {
      const open = await this.shared.entries.listOpen();
      const mine = new Set(this.dispatcher.callerIds());
      for (const e of open) {
        if (!this.holds(e)) this.placeRemoteCaller(e);
        else if (!mine.has(e.channelId)) this.closeCallerEntry(e.id, 'gone');
      }
    } catch (e) {
      this.logger.warn('could not read the shared queue entries', { error: String(e) });
    }
  }

  /** A caller in this process's Stasis app on this process's Asterisk (else another instance's). */
  private holds(e: QueueEntry): boolean {
    return e.asteriskId === this.asteriskId && e.app === this.config.ari.app;
  }

  private placeRemoteCaller(e: QueueEntry): void {
    this.book.removeRemoteCaller(e.id);
    if (e.closedAt !== null) return;
    this.book.addRemoteCaller({ id: e.id, queueId: e.queueId, kind: 'caller', priority: e.priority, arrivedAt: e.arrivedAt.getTime(), seq: e.seq });
  }

  /** A change another writer (instance, API, CLI) committed, announced by the database. */
  private onSharedChange(table: string, row: Record<string, unknown>): void {
    try {
      if (table === 'callback_requests') {
        this.storeSync.apply(toCallback(row as unknown as CallbackRow));
      } else if (table === 'queue_entries') {
        const e = toQueueEntry(row as unknown as Parameters<typeof toQueueEntry>[0]);
        // This process's own callers are its sessions: they are the truth about them.
        if (this.holds(e)) return;
        this.placeRemoteCaller(e);
      } else if (table === 'agent_presence') {
        const p = toAgentPresence(row as unknown as Parameters<typeof toAgentPresence>[0]);
        // A notification of this process's own earlier write may arrive after a later change.
        if (p.updatedAt.getTime() <= (this.presenceSeenAt.get(p.agentId) ?? 0)) return;
        this.presenceSeenAt.set(p.agentId, p.updatedAt.getTime());
        this.agents.restorePresence(p.agentId, p.loggedIn, p.paused);
      }
      this.dispatchSoon();
    } catch (e) {
      this.logger.warn('change notification not applied', { table, error: String(e) });
    }
  }

  /** The claims of a process that no longer runs become reclaimable now (see plugin.ts). */
  async releaseClaimsOf(holder: string): Promise<void> {
    // A restarted instance has its predecessor's id: the attempts it runs already (taken up by
    // the reconciler, or dispatched since it connected, in either mode) are its own, not the dead
    // process's.
    const running = [...this.book.callbackEntries()].filter(([, e]) => e.pending.inFlight).map(([id]) => id);
    const released = await this.store.expireClaimsOf(holder, new Date(this.clock.now()), running);
    for (const cb of released) this.storeSync.apply(cb);
    if (released.length > 0) this.logger.info('claims of a process that no longer runs released', { holder, callbacks: released.length });
    this.dispatchSoon();
  }

  /** After the change feed was lost: re-read what may have been missed. */
  private async resyncShared(): Promise<void> {
    await this.storeSync.sync();
    await this.restorePresence();
    if (!this.shared) return;
    try {
      const open = await this.shared.entries.listOpen();
      const openIds = new Set(open.map((e) => e.id));
      for (const id of this.book.remoteCallerIds()) if (!openIds.has(id)) this.book.removeRemoteCaller(id);
      for (const e of open) if (!this.holds(e)) this.placeRemoteCaller(e);
    } catch (e) {
      this.logger.warn('could not re-read the shared queue entries', { error: String(e) });
    }
    this.dispatchSoon();
  }

  async placeCaller(input: { channel: AriChannel; queueId: string; priority: number; arrivedAt: number; routeId: string | undefined; first?: { queueId: string; arrivedAt: number } }): Promise<{ entryId: string; arrivedAt: number; seq: number } | undefined> {
    const entries = this.shared?.entries;
    if (!entries || this.asteriskId === undefined) return undefined;
    const { channel } = input;
    const created = ariTime(channel.creationtime);
    const fresh = () =>
      entries.open({
        id: randomUUID(),
        queueId: input.queueId,
        ...(input.first ? { firstQueueId: input.first.queueId, firstArrivedAt: new Date(input.first.arrivedAt) } : {}),
        priority: input.priority,
        arrivedAt: new Date(input.arrivedAt),
        asteriskId: this.asteriskId as string,
        channelId: channel.id,
        app: this.config.ari.app,
        channelCreatedAt: created !== undefined ? new Date(created) : null,
        instanceId: this.config.instanceId,
        routeId: input.routeId ?? null,
        callerNumber: channel.caller.number || null,
        callerName: channel.caller.name || null,
        language: channel.language ?? null,
      });
    try {
      let entry = await fresh();
      if (created !== undefined && entry.channelCreatedAt && Math.abs(entry.channelCreatedAt.getTime() - created) > CREATION_TIME_TOLERANCE_MS) {
        this.logger.warn('stored place belongs to an earlier channel with the same id; a new place is taken', { channelId: channel.id, entryId: entry.id });
        await entries.close(entry.id, 'gone');
        entry = await fresh();
      }
      return { entryId: entry.id, arrivedAt: entry.arrivedAt.getTime(), seq: entry.seq };
    } catch (e) {
      this.logger.warn('caller place not stored', { channelId: channel.id, error: String(e) });
      return undefined;
    }
  }

  async relocateCaller(oldEntryId: string | undefined, input: { channel: AriChannel; queueId: string; priority: number; arrivedAt: number; routeId: string | undefined; first: { queueId: string; arrivedAt: number } }): Promise<{ entryId: string; arrivedAt: number; seq: number } | undefined> {
    if (oldEntryId !== undefined) await this.shared?.entries.close(oldEntryId, 'moved').catch((e: unknown) => this.logger.warn('old place not closed on a move', { entryId: oldEntryId, error: String(e) }));
    return this.placeCaller(input);
  }

  closeCallerEntry(entryId: string, reason: QueueExitReason, callbackId?: string): void {
    const entries = this.shared?.entries;
    if (!entries) return;
    const attempt = (n: number): void => {
      entries.close(entryId, reason, { callbackId }).catch((e: unknown) => {
        if (n >= 5 || this.stopped) {
          this.logger.warn('caller place not closed; the next reconciliation closes it', { entryId, reason, error: String(e) });
          return;
        }
        setTimeout(() => attempt(n + 1), 500 * 2 ** n).unref();
      });
    };
    attempt(0);
  }

  /** Events in a WebSocket gap are lost (trace e2): settle with GET /channels. */
  async reconcile(): Promise<void> {
    await this.reconciler.reconcile();
  }

  stop(): void {
    this.stopped = true;
    this.dispatcher.stop();
    if (this.tickTimer) this.clock.clearTimer(this.tickTimer);
  }

  private tick(): void {
    if (this.stopped) return;
    // Retry spacing, decline windows and wrap-up all expire with time: look again every second.
    this.dispatchSoon();
    this.ticks += 1;
    // Callbacks written by other instances or the API, and expired leases, are picked up here.
    if (this.ticks % this.syncEveryTicks === 0) void this.syncWithStore();
    if (this.ticks % this.timeRulesEveryTicks === 0) void applyTimeRules(this);
    this.tickTimer = this.clock.setTimer(() => this.tick(), 1000);
  }

  /** Reads the callbacks changed since the last look (other instances, the API, the CLI). */
  syncWithStore(): Promise<void> {
    return this.storeSync.sync();
  }

  // ---- where a call enters --------------------------------------------------------------

  handleEvent(event: AriEvent): void {
    // A malformed event (fields missing) is logged, never thrown.
    try {
      this.reconciler.observe(event);
      if (event.type === 'DeviceStateChanged') {
        if (this.agents.setDeviceState(event.device_state.name, event.device_state.state, this.clock.now())) this.dispatchSoon();
        return;
      }
      this.router.route(event);
    } catch (e) {
      this.logger.warn('ARI event could not be handled', { type: (event as { type?: unknown } | null | undefined)?.type, error: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * A queue caller a previous process left in Stasis (crash, restart): back at its place, which
   * the channel's creation time fixes (the call entered the queue when it was created).
   * `bridgeId`: the bridge Asterisk lists the channel in, if any.
   */
  async adoptQueueCaller(channel: AriChannel, args: string[], bridgeId: string | undefined): Promise<void> {
    const [, argQueueId, ...options] = args;
    // The stored place says which queue the caller is in now (an overflow action may have moved it).
    const stored = this.asteriskId !== undefined ? await this.shared?.entries.findOpen(this.asteriskId, channel.id).catch(() => undefined) : undefined;
    const queueId = stored?.queueId ?? argQueueId;
    const routeOptions = stored?.routeId ? [`route=${stored.routeId}`] : options;
    await this.router.enterQueue(channel, queueId, routeOptions, {
      arrivedAt: stored?.arrivedAt.getTime() ?? ariTime(channel.creationtime) ?? this.clock.now(),
      inHoldingBridge: bridgeId === holdingBridgeIdOf(channel.id),
    });
  }

  /**
   * An agent-first attempt a previous process left after the agent's 1 (agent leg answered,
   * customer leg dialled, not yet bridged): taken up where it was, so that a customer who answers
   * is connected and never dialled again for it (PreviewCallSession.resume). False when it cannot
   * be (the attempt is over, another instance has reclaimed it, the queue or agent is gone): the
   * reconciler then hangs both legs up and the lease expiry settles the attempt, as before.
   */
  async resumePreview(agentLeg: AriChannel, customerLeg: AriChannel, callbackId: string): Promise<boolean> {
    const stored = await this.store.get(callbackId);
    if (!stored || stored.status !== 'in_progress') return false;
    const attempt = (await this.store.attempts(callbackId)).find((a) => a.endedAt === null && a.agentChannelId === agentLeg.id && a.customerChannelId === customerLeg.id);
    const queue = this.book.queue(stored.queueId)?.config;
    if (!attempt || !queue || queue.mode === 'customer-first' || !this.agents.get(attempt.agentId)) return false;
    const now = this.clock.now();
    const resumed = await this.store.resumeAttempt({ callbackId, attemptNo: attempt.attemptNo, instanceId: this.config.instanceId, leaseMs: this.config.callback.leaseSec * 1000, now: new Date(now) });
    if (!resumed) return false;
    this.agentBusy(attempt.agentId);
    if (!this.book.callback(callbackId)) this.placeCallback(resumed);
    const entry = this.book.callback(callbackId);
    if (entry) {
      entry.stored = resumed;
      entry.pending.inFlight = true; // dispatch and the store sync leave it to the session
    }
    const session = new PreviewCallSession(this, resumed, queue, attempt.agentId, { attempt, agentChannelId: agentLeg.id, customerChannelId: customerLeg.id });
    this.previews.set(callbackId, session);
    await session.resume(customerLeg.state === 'Up');
    return true;
  }

  /** Channel ids some session owns (for the reconciler). */
  boundChannelIds(): string[] {
    return this.router.boundChannelIds();
  }

  // ---- CallContext --------------------------------------------------------------------------

  queueConfig(queueId: string): QueueConfig | undefined {
    return this.book.queue(queueId)?.config;
  }

  bind(channelId: string, session: ChannelSession): void {
    this.router.bind(channelId, session);
  }

  unbind(channelId: string): void {
    this.router.unbind(channelId);
  }

  enqueue(item: WorkItem): void {
    this.book.enqueue(item);
  }

  dequeue(itemId: string): void {
    this.book.dequeue(itemId);
    this.dispatcher.forgetCaller(itemId);
  }

  moveCaller(from: WorkItem, to: WorkItem): void {
    this.book.dequeue(from.id);
    this.dispatcher.releaseFromService(from.id);
    this.book.enqueue(to);
    this.dispatchSoon();
  }

  position(item: WorkItem): number | undefined {
    return this.book.position(item);
  }

  estimatedWaitSec(queueId: string, position: number): number {
    return this.book.estimatedWaitSec(queueId, position);
  }

  isOverflowing(item: WorkItem, routeId: string | undefined): boolean {
    return this.book.isOverflowing(item, routeId);
  }

  overflowAction(item: WorkItem, routeId: string | undefined, waitedSec: number): ActionInForce | undefined {
    return this.book.overflowAction(item, routeId, waitedSec);
  }

  checkTransferNumber(queue: QueueConfig, rawNumber: string): { ok: true; e164: string } | { ok: false; reason: string } {
    const policy = numberPolicyOf(queue);
    const normal = normalizeNumber(rawNumber, policy);
    if (!normal.ok) return { ok: false, reason: `invalid_number:${normal.reason}` };
    const decision = checkNumberPolicy(normal.e164, policy, { pendingForNumber: 0 });
    return decision.allowed ? { ok: true, e164: normal.e164 } : { ok: false, reason: decision.reason };
  }

  recordEntryAction(entryId: string, action: string, detail: Record<string, unknown>): void {
    this.shared?.entries.recordAction(entryId, action, detail).catch((e: unknown) => this.logger.warn('overflow action not stored', { entryId, action, error: String(e) }));
  }

  convertToCallback(callerItem: WorkItem, stored: StoredCallback): void {
    this.book.dequeue(callerItem.id);
    this.dispatcher.forgetCaller(callerItem.id);
    // Same priority, arrival and (shared) seq: the callback takes exactly the caller's place.
    this.book.addCallback(stored);
    this.dispatchSoon();
  }

  /** A callback this process did not place itself joins its queue. */
  placeCallback(stored: StoredCallback): void {
    this.book.addCallback(stored);
  }

  releaseFromService(itemId: string): void {
    this.dispatcher.releaseFromService(itemId);
  }

  declined(itemId: string, agentId: string): void {
    this.dispatcher.declined(itemId, agentId);
  }

  agent(agentId: string): AgentState | undefined {
    return this.agents.get(agentId);
  }

  checkCallbackNumber(queue: QueueConfig, rawNumber: string, callerId: string): { ok: true; e164: string; maxOpenElsewhere: number } | { ok: false; reason: string } {
    const policy = numberPolicyOf(queue);
    const normal = normalizeNumber(rawNumber, policy);
    if (!normal.ok) return { ok: false, reason: `invalid_number:${normal.reason}` };
    if (!this.rateLimiter(queue).check(callerId || 'withheld', this.clock.now()).allowed) return { ok: false, reason: 'rate_limited' };
    // Every rule but the last (open callbacks per number), which the booking statement counts:
    // with 0 open it cannot refuse (maxPendingPerNumber >= 1).
    const decision = checkNumberPolicy(normal.e164, policy, { pendingForNumber: 0 });
    if (!decision.allowed) return { ok: false, reason: decision.reason };
    return { ok: true, e164: normal.e164, maxOpenElsewhere: policy.maxPendingPerNumber };
  }

  recordCallbackRequest(queue: QueueConfig, callerId: string): void {
    this.rateLimiter(queue).record(callerId || 'withheld', this.clock.now());
  }

  private rateLimiter(queue: QueueConfig): SlidingWindowRateLimiter {
    let limiter = this.rateLimiters.get(queue.id);
    if (!limiter) {
      limiter = new SlidingWindowRateLimiter({ limit: queue.rateLimit.limit, windowMs: queue.rateLimit.windowSec * 1000 });
      this.rateLimiters.set(queue.id, limiter);
    }
    return limiter;
  }

  takeFreeAgent(queueId: string, itemId: string): string | undefined {
    return this.dispatcher.takeFreeAgent(queueId, itemId);
  }

  agentBusy(agentId: string): void {
    this.agents.reserve(agentId);
  }

  directOverflowFor(agentId: string): boolean {
    return this.config.agents.find((a) => a.id === agentId)?.directOverflow ?? this.config.direct.overflow;
  }

  directQueueId(agentId: string): string {
    return `direct:${agentId}`;
  }

  addOwedCallback(stored: StoredCallback): void {
    this.placeCallback(stored);
    this.dispatchSoon();
  }

  releaseAgent(agentId: string, opts: { talked: boolean; handleSec?: number }): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    const queue = agent.queues[0] ? this.book.queue(agent.queues[0].queueId) : undefined;
    if (opts.handleSec !== undefined) this.book.recordHandleTime(agent.queues.map((m) => m.queueId), opts.handleSec);
    this.agents.release(agentId, this.clock.now(), (queue?.config.wrapUpSec ?? 0) * 1000, opts.talked);
    this.dispatchSoon();
  }

  callbackAttemptEnded(stored: StoredCallback): void {
    const entry = this.book.callback(stored.id);
    this.previews.delete(stored.id);
    if (!entry) return;
    entry.pending.inFlight = false;
    if (stored.status === 'pending') {
      entry.stored = stored;
      entry.pending.notBefore = stored.notBefore?.getTime();
    } else if (stored.status === 'cancelled') {
      // Could not be claimed: someone else holds it, or it is no longer open. Ask the store.
      void this.refreshCallback(stored.id);
    } else {
      this.book.forgetCallback(stored.id);
    }
    this.dispatchSoon();
  }

  private async refreshCallback(id: string): Promise<void> {
    const entry = this.book.callback(id);
    if (!entry) return;
    const fresh = await this.store.get(id).catch(() => undefined);
    if (fresh && (fresh.status === 'pending' || fresh.status === 'in_progress')) {
      entry.stored = fresh;
      entry.pending.notBefore = fresh.status === 'in_progress' ? (fresh.claimExpiresAt?.getTime() ?? this.clock.now() + 5000) : this.clock.now() + 1000;
      return;
    }
    this.book.forgetCallback(id);
  }

  milestone(name: CallMilestone, data: Record<string, unknown>): void {
    this.emit('milestone', name, data);
  }

  dispatchSoon(): void {
    if (!this.stopped) this.dispatcher.soon();
  }

  /** Dispatch chose this callback for this agent: its attempt starts, by the queue's mode. */
  private startCallbackAttempt(entry: CallbackEntry, queue: QueueConfig, agentId: string): void {
    if (queue.mode === 'customer-first') {
      void new CustomerFirstSession(this, entry.stored, queue, agentId).start();
      return;
    }
    const preview = new PreviewCallSession(this, entry.stored, queue, agentId);
    this.previews.set(entry.stored.id, preview);
    void preview.start();
  }

  // ---- operations for the administrators' and agents' surfaces ---------------------------------

  /** A proactive or scheduled callback, created by an administrator or a CRM through the API. */
  async createCallback(input: { queueId: string; number: string; name?: string; notBefore?: Date; ownerAgentId?: string; language?: string }): Promise<{ kind: 'stored' | 'duplicate'; callback: StoredCallback }> {
    const q = this.book.queue(input.queueId);
    if (!q) throw new Error(`unknown queue '${input.queueId}'`);
    const now = this.clock.now();
    // The same toll-fraud guard as for callers: an API client cannot book a premium or foreign
    // number the queue's policy refuses.
    const policy = numberPolicyOf(q.config);
    const normal = normalizeNumber(input.number, policy);
    if (!normal.ok) throw new CallbackRefused(`number: not a valid number (${normal.reason})`);
    // Every rule but the per-number limit, which the booking statement counts (one round trip).
    const decision = checkNumberPolicy(normal.e164, policy, { pendingForNumber: 0 });
    if (!decision.allowed) throw new CallbackRefused(`number: refused by the queue's number policy (${decision.reason})`);
    const r = await this.store.requestCallback({
      id: randomUUID(),
      queueId: input.queueId,
      customerNumber: normal.e164,
      customerName: input.name ?? null,
      ownerAgentId: input.ownerAgentId ?? null,
      // Without a language of its own the callback speaks the queue's.
      language: input.language ?? q.config.language ?? DEFAULT_LANGUAGE,
      priority: q.config.priority,
      // A scheduled callback takes its place in the queue at its time.
      arrivedAt: new Date(Math.max(now, input.notBefore?.getTime() ?? now)),
      maxAttempts: q.config.maxAttempts,
      notBefore: input.notBefore ?? null,
      maxOpenElsewhere: policy.maxPendingPerNumber,
    });
    if (r.kind === 'over_limit') throw new CallbackRefused("number: refused by the queue's number policy (too_many_pending)");
    if (r.kind === 'duplicate') return { kind: 'duplicate', callback: r.existing };
    this.placeCallback(r.callback);
    this.dispatchSoon();
    return { kind: 'stored', callback: r.callback };
  }

  /** Cancels an open callback; refused while an attempt is dialling it. */
  async cancelCallback(id: string, reason: string): Promise<'cancelled' | 'in_progress' | 'not_open'> {
    if (this.book.callback(id)?.pending.inFlight) return 'in_progress';
    const current = await this.store.get(id);
    if (!current || (current.status !== 'pending' && current.status !== 'in_progress')) return 'not_open';
    if (current.status === 'in_progress') return 'in_progress';
    const done = await this.store.setStatus(id, 'cancelled', reason, new Date(this.clock.now()));
    if (!done) return 'not_open';
    this.book.forgetCallback(id);
    return 'cancelled';
  }

  async rescheduleCallback(id: string, notBefore: Date): Promise<StoredCallback | undefined> {
    const updated = await this.store.reschedule(id, notBefore, new Date(this.clock.now()));
    const entry = this.book.callback(id);
    if (updated && entry) {
      entry.stored = updated;
      entry.pending.notBefore = notBefore.getTime();
    }
    return updated;
  }

  /**
   * Log-in, log-out, pause or resume, from the API, the panel, the CLI or a feature code: applied
   * at once and stored, so that it outlives a restart and reaches every instance. Resolves false
   * for an unknown agent; rejects when it could not be stored (the change still applies here).
   */
  async setAgentPresence(agentId: string, change: { loggedIn?: boolean; paused?: boolean }, source: PresenceSource): Promise<boolean> {
    const agent = this.agents.get(agentId);
    if (!agent) return false;
    if (change.loggedIn !== undefined) this.agents.setLoggedIn(agentId, change.loggedIn);
    if (change.paused !== undefined) this.agents.setPaused(agentId, change.paused);
    this.dispatchSoon();
    const stored = await this.shared?.presence.set(agentId, change, { loggedIn: agent.loggedIn, paused: this.agents.manualPause(agentId) }, source);
    if (stored) this.presenceSeenAt.set(agentId, Math.max(stored.updatedAt.getTime(), this.presenceSeenAt.get(agentId) ?? 0));
    return true;
  }

  applyAmiPresence(agentId: string, callsAllowed: boolean): void {
    if (this.agents.applyAmiPresence(agentId, callsAllowed)) this.dispatchSoon();
  }

  applyAmiQueueMembership(agentId: string, loggedIn: boolean, paused: boolean): void {
    if (this.agents.applyAmiQueueMembership(agentId, loggedIn, paused)) this.dispatchSoon();
  }

  /** The preview call an agent is in right now, if any (for the agent panel). */
  activePreviewOf(agentId: string): PreviewCallSession | undefined {
    for (const p of this.previews.values()) if (p.agent === agentId && p.isPreviewing) return p;
    return undefined;
  }

  previewFor(callbackId: string): PreviewCallSession | undefined {
    return this.previews.get(callbackId);
  }

  queueIds(): string[] {
    return this.book.queueIds();
  }

  /** Live figures of one queue, for the API and metrics. */
  queueFigures(queueId: string): QueueFigures | undefined {
    return this.book.figures(queueId);
  }

  queueSnapshot(queueId: string): { waiting: number; callers: number; callbacks: number; items: readonly WorkItem[] } | undefined {
    return this.book.snapshot(queueId);
  }

  get liveSessions(): number {
    return this.router.liveSessions;
  }
}
