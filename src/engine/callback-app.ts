import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { AppConfig, QueueConfig } from '../config/config';
import { AriEvent, StasisStartEvent, channelIdOf } from '../ari/ari-events';
import { CallControl } from '../ari/call-control';
import {
  AgentDecline,
  AgentState,
  Clock,
  createSeqCounter,
  estimateWaitSec,
  evaluateOverflow,
  HandleTimeAverage,
  isAgentAvailable,
  PendingCallback,
  pickAgent,
  planAssignments,
  QueueOrder,
  resolveOverflowRule,
  TimerHandle,
  WorkItem,
} from '../domain';
import { Logger } from '../logging/logger';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { CallContext, CallMilestone, ChannelSession } from '../calls/call-context';
import { QueueCallerSession } from '../calls/queue-caller-session';
import { PreviewCallSession } from '../calls/preview-call-session';
import { DirectCallSession } from '../calls/direct-call-session';
import { CustomerFirstSession } from '../calls/customer-first-session';
import { AgentDirectory } from './agent-directory';
import { Reconciler } from './reconciler';
import { PROMPTS } from '../calls/prompts';
import { checkNumberPolicy, decideOwedCallback, DEFAULT_MAX_AGE_DAYS, EXPIRE_MAX_AGE, isExpired, OwedCallbackDecision, isOpen, nextOpening, normalizeNumber, SlidingWindowRateLimiter } from '../domain/policies';
import { numberPolicyOf } from '../config/config';

/** A callback request refused by policy; the message starts with the field at fault. */
export class CallbackRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackRefused';
  }
}

/**
 * Rows are stamped with their transaction's start time but become visible at COMMIT: re-reading
 * a few seconds back catches transactions that were in flight during the previous look.
 */
const SYNC_OVERLAP_MS = 5000;

interface QueueRuntime {
  config: QueueConfig;
  order: QueueOrder;
  handleTime: HandleTimeAverage;
}

interface CallbackEntry {
  stored: StoredCallback;
  pending: PendingCallback;
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
}

/**
 * The application: where calls enter (StasisStart is routed here), the queues it keeps, the
 * agents, and dispatch. Each call's state lives in its session object; this class only routes
 * events to sessions and decides who is served next.
 */
export class CallbackApp extends EventEmitter<CallbackAppEvents> implements CallContext {
  readonly config: AppConfig;
  readonly control: CallControl;
  readonly store: CallbackStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly agents: AgentDirectory;
  private readonly queues = new Map<string, QueueRuntime>();
  /** channel id -> the session that owns it: the one routing table for ARI events. */
  private readonly sessions = new Map<string, ChannelSession>();
  private readonly callers = new Map<string, QueueCallerSession>();
  private readonly callbacks = new Map<string, CallbackEntry>();
  private readonly pendingView = new Map<string, PendingCallback>();
  private readonly owedView = new Map<string, PendingCallback>();
  private readonly previews = new Map<string, PreviewCallSession>();
  private readonly callerDeclines = new Map<string, AgentDecline[]>();
  private readonly itemsInService = new Set<string>();
  private readonly rateLimiters = new Map<string, SlidingWindowRateLimiter>();
  private readonly nextSeq = createSeqCounter();
  /** ---- reconciliation hook (src/engine/reconciler.ts): state rebuilt after every ARI (re)connection ---- */
  readonly reconciler = new Reconciler(this);
  private dispatchQueued = false;
  private ticks = 0;
  private syncing = false;
  /** Database time of the last sync (minus overlap); start() reads everything open first. */
  private lastSync = new Date(0);
  /** Seconds between two reads of the open callbacks (other instances, API). */
  private readonly syncEveryTicks: number;
  /** Seconds between two passes of the time rules (expiry, owner windows). */
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
    this.syncEveryTicks = Math.max(1, Math.round(deps.config.callback.syncIntervalSec));
    this.timeRulesEveryTicks = Math.max(1, Math.round(deps.config.callback.timeRulesIntervalSec));
    for (const q of deps.config.queues) {
      this.queues.set(q.id, { config: q, order: new QueueOrder(), handleTime: new HandleTimeAverage({ coldStartSec: q.coldStartHandleSec }) });
    }
  }

  /** Rebuilds the queues from stored callbacks and starts the dispatch tick. */
  async start(): Promise<void> {
    const dbNow = await this.store.databaseNow();
    const open = await this.store.listOpen();
    for (const cb of open) this.addCallback(cb, this.nextSeq());
    this.lastSync = new Date(dbNow.getTime() - SYNC_OVERLAP_MS);
    this.logger.info('callback app started', { queues: [...this.queues.keys()], agents: this.agents.all().length, openCallbacks: open.length });
    this.tick();
  }

  /** Called on every ARI (re)connection: subscribe to agents' phones and read their states. */
  async onAriConnected(): Promise<void> {
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
    this.dispatchSoon();
  }

  /** ---- reconciliation hook: events in a WebSocket gap are lost (trace e2); settle with GET /channels. */
  async reconcile(): Promise<void> {
    await this.reconciler.reconcile();
  }

  /** Channel ids some session owns (for the reconciler). */
  boundChannelIds(): string[] {
    return [...this.sessions.keys()];
  }

  stop(): void {
    this.stopped = true;
    if (this.tickTimer) this.clock.clearTimer(this.tickTimer);
  }

  private tick(): void {
    if (this.stopped) return;
    // Retry spacing, decline windows and wrap-up all expire with time: look again every second.
    this.dispatchSoon();
    this.ticks += 1;
    // Callbacks written by other instances or the API, and expired leases, are picked up here.
    if (this.ticks % this.syncEveryTicks === 0) void this.syncWithStore();
    if (this.ticks % this.timeRulesEveryTicks === 0) void this.applyTimeRules();
    this.tickTimer = this.clock.setTimer(() => this.tick(), 1000);
  }

  /**
   * Adds open callbacks this process does not know yet and drops ones closed elsewhere (other
   * instances, the CLI). Reads only the rows changed since the last look, with a few seconds
   * of overlap, so its cost follows the rate of change rather than the size of the backlog.
   */
  async syncWithStore(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const { rows, dbNow } = await this.store.changedSince(this.lastSync);
      for (const cb of rows) {
        const open = cb.status === 'pending' || cb.status === 'in_progress';
        const known = this.callbacks.get(cb.id);
        if (!open) {
          if (known && !known.pending.inFlight) this.forgetCallback(cb.id);
          continue;
        }
        if (!known) {
          this.addCallback(cb, this.nextSeq());
          continue;
        }
        if (known.pending.inFlight) continue;
        if (known.stored.queueId !== cb.queueId) {
          this.forgetCallback(cb.id);
          this.addCallback(cb, this.nextSeq());
          continue;
        }
        known.stored = cb;
        known.pending.notBefore = cb.status === 'in_progress' ? (cb.claimExpiresAt?.getTime() ?? this.clock.now()) : cb.notBefore?.getTime();
      }
      this.lastSync = new Date(dbNow.getTime() - SYNC_OVERLAP_MS);
      this.dispatchSoon();
    } catch (e) {
      this.logger.warn('could not sync callbacks with the database', { error: String(e) });
    } finally {
      this.syncing = false;
    }
  }

  // ---- where a call enters --------------------------------------------------------------

  handleEvent(event: AriEvent): void {
    // ---- reconciliation hook: a malformed event (fields missing) is logged, never thrown.
    try {
      this.reconciler.observe(event);
      this.routeEvent(event);
    } catch (e) {
      this.logger.warn('ARI event could not be handled', { type: (event as { type?: unknown } | null | undefined)?.type, error: e instanceof Error ? e.message : String(e) });
    }
  }

  private routeEvent(event: AriEvent): void {
    if (event.type === 'DeviceStateChanged') {
      if (this.agents.setDeviceState(event.device_state.name, event.device_state.state, this.clock.now())) this.dispatchSoon();
      return;
    }
    const channelId = channelIdOf(event);
    if (channelId === undefined) return;
    const session = this.sessions.get(channelId);
    if (session) {
      try {
        session.onEvent(event);
      } catch (e) {
        this.logger.error('session failed to handle event', { type: event.type, channelId, error: e instanceof Error ? e.stack : String(e) });
      }
      return;
    }
    if (event.type === 'StasisStart') void this.onStasisStart(event);
  }

  private async onStasisStart(event: StasisStartEvent): Promise<void> {
    const [kind, target, ...options] = event.args;
    const channel = event.channel;
    if (kind === 'queue') {
      const queue = target ? this.queues.get(target) : undefined;
      if (!queue) {
        this.logger.error('call for an unknown queue; check extensions.conf', { channelId: channel.id, args: event.args });
        await this.control.hangup(channel.id).catch(() => undefined);
        return;
      }
      const routeId = options.map((o) => /^route=(.+)$/.exec(o)?.[1]).find((r) => r !== undefined);
      if (routeId !== undefined && !(routeId in this.config.routes)) this.logger.warn('unknown route in Stasis arguments; queue rule applies', { routeId });
      const session = new QueueCallerSession(this, channel, queue.config, routeId, this.nextSeq());
      this.callers.set(session.itemId, session);
      await session.start();
      return;
    }
    if (kind === 'direct') {
      await this.onDirectCall(event, target ?? '');
      return;
    }
    this.logger.warn('unexpected Stasis arguments; hanging up', { channelId: channel.id, args: event.args });
    await this.control.hangup(channel.id).catch(() => undefined);
  }

  /**
   * A call to a personal number: `direct,<agent id>` or `direct,<the dialled number>`. An agent
   * without a personal number configured gets no direct calls (the prerequisite of the feature).
   */
  private async onDirectCall(event: StasisStartEvent, target: string): Promise<void> {
    const channel = event.channel;
    const agent = this.agents.all().find((a) => a.id === target) ?? this.agents.all().find((a) => a.personalNumber !== undefined && a.personalNumber === target);
    if (!agent || agent.personalNumber === undefined) {
      this.logger.error(agent ? 'direct call to an agent without a personal number; configure agents[].personalNumber' : 'direct call to an unknown agent or number; check extensions.conf', {
        channelId: channel.id,
        target,
      });
      this.bind(channel.id, { kind: 'rejected-direct', onEvent: () => undefined });
      await this.store
        .recordDirectCall({ channelId: channel.id, agentId: agent?.id ?? null, dialled: target, callerNumber: channel.caller.number || null, callerName: channel.caller.name || null, startedAt: new Date(this.clock.now()), endedAt: new Date(this.clock.now()), outcome: 'no_personal_number', reason: agent ? 'agent_has_no_personal_number' : 'unknown_target' })
        .catch((e: unknown) => this.logger.warn('direct call record not saved', { error: String(e) }));
      try {
        await this.control.answer(channel.id);
        await this.playToEnd(channel.id, [PROMPTS.noPersonalNumber]);
      } finally {
        await this.control.hangup(channel.id).catch(() => undefined);
        this.unbind(channel.id);
      }
      return;
    }
    const session = new DirectCallSession(this, channel, agent, target);
    await session.start();
  }

  /** Plays media and resolves when it finished (or after a bound, if the event never comes). */
  private async playToEnd(channelId: string, media: string[]): Promise<void> {
    const id = `sys-${randomUUID()}`;
    const finished = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30000);
      this.bind(channelId, {
        kind: 'system-message',
        onEvent: (e) => {
          if ((e.type === 'PlaybackFinished' && e.playback.id === id) || e.type === 'StasisEnd' || e.type === 'ChannelHangupRequest') {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await this.control.play(channelId, media, id);
    await finished;
  }

  // ---- CallContext --------------------------------------------------------------------------

  queueConfig(queueId: string): QueueConfig | undefined {
    return this.queues.get(queueId)?.config;
  }

  bind(channelId: string, session: ChannelSession): void {
    this.sessions.set(channelId, session);
  }

  unbind(channelId: string): void {
    this.sessions.delete(channelId);
  }

  enqueue(item: WorkItem): void {
    this.queues.get(item.queueId)?.order.add(item);
  }

  dequeue(itemId: string): void {
    for (const q of this.queues.values()) if (q.order.remove(itemId)) break;
    this.callers.delete(itemId);
    this.callerDeclines.delete(itemId);
  }

  position(item: WorkItem): number | undefined {
    return this.queues.get(item.queueId)?.order.position(item.id);
  }

  estimatedWaitSec(queueId: string, position: number): number {
    const q = this.queues.get(queueId);
    if (!q) return 0;
    const now = this.clock.now();
    const members = this.agents.all().filter((a) => a.queues.some((m) => m.queueId === queueId));
    return estimateWaitSec({
      position,
      averageHandleSec: q.handleTime.averageSec(),
      availableAgents: members.filter((a) => isAgentAvailable(a, now)).length,
      staffedAgents: members.filter((a) => a.loggedIn && !a.paused).length,
    });
  }

  isOverflowing(item: WorkItem, routeId: string | undefined): boolean {
    const q = this.queues.get(item.queueId);
    if (!q) return false;
    const queueRule = { maxWaiting: q.config.overflow.maxWaiting ?? undefined, maxEstimatedWaitSec: q.config.overflow.maxEstimatedWaitSec ?? undefined };
    if (q.config.overflow.outOfHours && q.config.hours && !isOpen(q.config.hours, this.clock.now())) return true;
    const rule = resolveOverflowRule(queueRule, routeId !== undefined ? this.config.routes[routeId]?.overflow : undefined);
    const position = q.order.position(item.id) ?? q.order.size + 1;
    return evaluateOverflow(rule, { waitingCount: q.order.size, estimatedWaitSec: this.estimatedWaitSec(item.queueId, position) }).overflowing;
  }

  convertToCallback(callerItem: WorkItem, stored: StoredCallback): void {
    const q = this.queues.get(callerItem.queueId);
    q?.order.remove(callerItem.id);
    this.callers.delete(callerItem.id);
    this.itemsInService.delete(callerItem.id);
    // Same priority, arrival and sequence: the callback takes exactly the caller's place.
    this.addCallback(stored, callerItem.seq);
    this.dispatchSoon();
  }

  private addCallback(stored: StoredCallback, seq: number): void {
    const q = this.ensureQueue(stored.queueId);
    if (!q) {
      this.logger.warn('stored callback for a queue no longer configured; left pending', { callbackId: stored.id, queueId: stored.queueId });
      return;
    }
    if (this.callbacks.has(stored.id)) return;
    q.order.add({ id: stored.id, queueId: stored.queueId, kind: 'callback', priority: stored.priority, arrivedAt: stored.arrivedAt.getTime(), seq });
    this.rememberCallback({
      stored,
      pending: {
        itemId: stored.id,
        queueId: stored.queueId,
        ownerAgentId: stored.ownerAgentId ?? undefined,
        declinedBy: [],
        inFlight: false,
        // In progress elsewhere (another instance, or a crashed one whose lease still runs).
        notBefore: stored.status === 'in_progress' ? (stored.claimExpiresAt?.getTime() ?? this.clock.now()) : stored.notBefore?.getTime(),
      },
    });
  }

  /**
   * The one place callbacks enter and leave this process's view; the dispatch views (all
   * pending, the owed ones) are kept with it so a dispatch never rebuilds them.
   */
  private rememberCallback(entry: CallbackEntry): void {
    this.callbacks.set(entry.stored.id, entry);
    this.pendingView.set(entry.stored.id, entry.pending);
    if (entry.pending.ownerAgentId !== undefined) this.owedView.set(entry.stored.id, entry.pending);
  }

  private forgetCallback(id: string): void {
    const entry = this.callbacks.get(id);
    if (!entry) return;
    this.queues.get(entry.stored.queueId)?.order.remove(id);
    this.callbacks.delete(id);
    this.pendingView.delete(id);
    this.owedView.delete(id);
  }

  releaseFromService(itemId: string): void {
    this.itemsInService.delete(itemId);
  }

  declined(itemId: string, agentId: string): void {
    const until = this.clock.now() + this.config.callback.declineWindowSec * 1000;
    const cb = this.callbacks.get(itemId);
    if (cb) {
      cb.pending.declinedBy = [...cb.pending.declinedBy.filter((d) => d.agentId !== agentId), { agentId, until }];
      return;
    }
    const list = this.callerDeclines.get(itemId) ?? [];
    this.callerDeclines.set(itemId, [...list.filter((d) => d.agentId !== agentId), { agentId, until }]);
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
    const now = this.clock.now();
    const declines = this.callbacks.get(itemId)?.pending.declinedBy ?? this.callerDeclines.get(itemId) ?? [];
    const agent = pickAgent(this.agents.all(), queueId, now, (id) => declines.some((d) => d.agentId === id && d.until > now));
    if (!agent) return undefined;
    this.agents.reserve(agent.id);
    return agent.id;
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
    this.addCallback(stored, this.nextSeq());
    this.dispatchSoon();
  }

  /** The queue holding one agent's owed callbacks, created on first use. */
  private ensureQueue(queueId: string): QueueRuntime | undefined {
    const existing = this.queues.get(queueId);
    if (existing) return existing;
    const m = /^direct:(.+)$/.exec(queueId);
    if (!m || !this.agents.get(m[1] ?? '')) return undefined;
    const d = this.config.direct;
    const config: QueueConfig = {
      id: queueId,
      name: `callbacks owed by ${m[1]}`,
      priority: 0,
      overflow: {},
      offer: { initialDelaySec: 0, intervalSec: d.offerIntervalSec, thresholdPosition: 0 },
      outboundCallerId: d.outboundCallerId,
      announcement: '',
      maxAttempts: d.maxAttempts,
      retryMinGapSec: d.retryMinGapSec,
      wrapUpSec: 0,
      coldStartHandleSec: 180,
      guard: d.guard,
      numberPolicy: { plan: 'nanp', allow: [], deny: [], denyInternational: false, denyPremium: false, maxPendingPerNumber: 1 },
      otherNumber: false,
      rateLimit: { limit: 3, windowSec: 3600 },
      expiryDays: 7,
      // Owed callbacks are personal: always the owner's preview call first.
      mode: 'agent-first',
      customerFirstMaxWaitSec: 60,
    };
    const runtime: QueueRuntime = { config, order: new QueueOrder(), handleTime: new HandleTimeAverage({ coldStartSec: 180 }) };
    this.queues.set(queueId, runtime);
    return runtime;
  }

  /**
   * Time rules over the open callbacks (src/domain/policies/expiry.ts): a pending callback older
   * than its queue's expiryDays expires; one owed by an agent is the agent's only for
   * direct.ownerWindowSec, then moves to direct.fallbackQueueId at its original place, or expires.
   * Decided in one pass without copying the backlog; only the due ones touch the database.
   */
  private async applyTimeRules(): Promise<void> {
    const now = this.clock.now();
    const fallbackQueueId = this.config.direct.fallbackQueueId;
    const due: { id: string; decision: OwedCallbackDecision }[] = [];
    for (const [id, entry] of this.callbacks) {
      if (entry.pending.inFlight) continue;
      const queue = this.queues.get(entry.stored.queueId);
      const requestedAtMs = entry.stored.requestedAt.getTime();
      const maxAgeDays = queue?.config.expiryDays ?? DEFAULT_MAX_AGE_DAYS;
      if (entry.stored.ownerAgentId) {
        const decision = decideOwedCallback({
          requestedAtMs,
          nowMs: now,
          ownerWindowMs: this.config.direct.ownerWindowSec * 1000,
          fallback: fallbackQueueId ? { kind: 'queue', queueId: fallbackQueueId } : { kind: 'expire' },
          maxAgeDays,
        });
        if (decision.kind !== 'owner_only') due.push({ id, decision });
      } else if (isExpired(requestedAtMs, now, maxAgeDays)) {
        due.push({ id, decision: { kind: 'expire', reason: EXPIRE_MAX_AGE } });
      }
    }
    for (const { id, decision } of due) {
      try {
        if (decision.kind === 'fallback_to_queue') {
          const moved = await this.store.fallBackToQueue(id, decision.queueId, new Date(now));
          if (!moved) continue;
          this.forgetCallback(id);
          this.addCallback(moved, this.nextSeq());
          this.milestone('owed_callback_fell_back', { callbackId: id, queueId: decision.queueId });
          this.logger.info('owed callback moved to the fallback queue', { callbackId: id, queueId: decision.queueId });
        } else if (decision.kind === 'expire' && (await this.store.setStatus(id, 'expired', decision.reason, new Date(now)))) {
          const owed = this.callbacks.get(id)?.stored.ownerAgentId;
          this.forgetCallback(id);
          this.milestone(owed && decision.reason !== EXPIRE_MAX_AGE ? 'owed_callback_expired' : 'callback_expired', { callbackId: id, reason: decision.reason });
          this.logger.info('callback expired', { callbackId: id, reason: decision.reason });
        }
      } catch (e) {
        this.logger.warn('time rule could not be applied', { callbackId: id, error: String(e) });
      }
    }
    if (due.length > 0) this.dispatchSoon();
  }

  releaseAgent(agentId: string, opts: { talked: boolean; handleSec?: number }): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    const queue = agent.queues[0] ? this.queues.get(agent.queues[0].queueId) : undefined;
    if (opts.handleSec !== undefined) {
      for (const m of agent.queues) this.queues.get(m.queueId)?.handleTime.record(opts.handleSec);
    }
    this.agents.release(agentId, this.clock.now(), (queue?.config.wrapUpSec ?? 0) * 1000, opts.talked);
    this.dispatchSoon();
  }

  callbackAttemptEnded(stored: StoredCallback): void {
    const entry = this.callbacks.get(stored.id);
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
      this.forgetCallback(stored.id);
    }
    this.dispatchSoon();
  }

  private async refreshCallback(id: string): Promise<void> {
    const entry = this.callbacks.get(id);
    if (!entry) return;
    const fresh = await this.store.get(id).catch(() => undefined);
    if (fresh && (fresh.status === 'pending' || fresh.status === 'in_progress')) {
      entry.stored = fresh;
      entry.pending.notBefore = fresh.status === 'in_progress' ? (fresh.claimExpiresAt?.getTime() ?? this.clock.now() + 5000) : this.clock.now() + 1000;
      return;
    }
    this.forgetCallback(id);
  }

  milestone(name: CallMilestone, data: Record<string, unknown>): void {
    this.emit('milestone', name, data);
  }

  // ---- dispatch -----------------------------------------------------------------------------

  dispatchSoon(): void {
    if (this.dispatchQueued || this.stopped) return;
    this.dispatchQueued = true;
    setImmediate(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    const now = this.clock.now();
    // Outside a queue's operating hours none of its callbacks is dialled: they wait, in place,
    // for the next opening.
    const queueNotBefore = new Map<string, number>();
    for (const q of this.queues.values()) {
      if (q.config.hours && !isOpen(q.config.hours, now)) queueNotBefore.set(q.config.id, nextOpening(q.config.hours, now) ?? Number.MAX_SAFE_INTEGER);
    }
    const reserved = new Set(this.agents.all().filter((a) => a.onPluginCall).map((a) => a.id));
    const assignments = planAssignments({
      now,
      queues: [...this.queues.values()].map((q) => ({ queueId: q.config.id, order: q.order })),
      callbacks: this.pendingView,
      owedCallbacks: this.owedView.values(),
      queueNotBefore,
      agents: this.agents.all(),
      agentsReserved: reserved,
      itemsInService: this.itemsInService,
      callerDeclines: this.callerDeclines,
    });
    for (const a of assignments) {
      this.agents.reserve(a.agentId);
      if (a.kind === 'caller') {
        const session = this.callers.get(a.itemId);
        if (!session) {
          this.agents.release(a.agentId, this.clock.now(), 0, false);
          continue;
        }
        this.itemsInService.add(a.itemId);
        void session.connectToAgent(a.agentId);
      } else {
        const entry = this.callbacks.get(a.itemId);
        const queue = this.queues.get(a.queueId);
        if (!entry || !queue) {
          this.agents.release(a.agentId, this.clock.now(), 0, false);
          continue;
        }
        entry.pending.inFlight = true;
        if (queue.config.mode === 'customer-first') {
          void new CustomerFirstSession(this, entry.stored, queue.config, a.agentId).start();
          continue;
        }
        const preview = new PreviewCallSession(this, entry.stored, queue.config, a.agentId);
        this.previews.set(entry.stored.id, preview);
        void preview.start();
      }
    }
  }

  // ---- operations for the administrators' and agents' surfaces ---------------------------------

  /** A proactive or scheduled callback, created by an administrator or a CRM through the API. */
  async createCallback(input: { queueId: string; number: string; name?: string; notBefore?: Date; ownerAgentId?: string; language?: string }): Promise<{ kind: 'stored' | 'duplicate'; callback: StoredCallback }> {
    const q = this.queues.get(input.queueId);
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
      language: input.language ?? 'en',
      priority: q.config.priority,
      // A scheduled callback takes its place in the queue at its time.
      arrivedAt: new Date(Math.max(now, input.notBefore?.getTime() ?? now)),
      maxAttempts: q.config.maxAttempts,
      notBefore: input.notBefore ?? null,
      maxOpenElsewhere: policy.maxPendingPerNumber,
    });
    if (r.kind === 'over_limit') throw new CallbackRefused("number: refused by the queue's number policy (too_many_pending)");
    if (r.kind === 'duplicate') return { kind: 'duplicate', callback: r.existing };
    this.addCallback(r.callback, this.nextSeq());
    this.dispatchSoon();
    return { kind: 'stored', callback: r.callback };
  }

  /** Cancels an open callback; refused while an attempt is dialling it. */
  async cancelCallback(id: string, reason: string): Promise<'cancelled' | 'in_progress' | 'not_open'> {
    if (this.callbacks.get(id)?.pending.inFlight) return 'in_progress';
    const current = await this.store.get(id);
    if (!current || (current.status !== 'pending' && current.status !== 'in_progress')) return 'not_open';
    if (current.status === 'in_progress') return 'in_progress';
    const done = await this.store.setStatus(id, 'cancelled', reason, new Date(this.clock.now()));
    if (!done) return 'not_open';
    const entry = this.callbacks.get(id);
    if (entry) {
      this.forgetCallback(id);
    }
    return 'cancelled';
  }

  async rescheduleCallback(id: string, notBefore: Date): Promise<StoredCallback | undefined> {
    const updated = await this.store.reschedule(id, notBefore, new Date(this.clock.now()));
    const entry = this.callbacks.get(id);
    if (updated && entry) {
      entry.stored = updated;
      entry.pending.notBefore = notBefore.getTime();
    }
    return updated;
  }

  setAgentLoggedIn(agentId: string, loggedIn: boolean): boolean {
    const ok = this.agents.setLoggedIn(agentId, loggedIn);
    if (ok) this.dispatchSoon();
    return ok;
  }

  applyAmiPresence(agentId: string, callsAllowed: boolean): void {
    if (this.agents.applyAmiPresence(agentId, callsAllowed)) this.dispatchSoon();
  }

  applyAmiQueueMembership(agentId: string, loggedIn: boolean, paused: boolean): void {
    if (this.agents.applyAmiQueueMembership(agentId, loggedIn, paused)) this.dispatchSoon();
  }

  setAgentPaused(agentId: string, paused: boolean): boolean {
    const ok = this.agents.setPaused(agentId, paused);
    if (ok) this.dispatchSoon();
    return ok;
  }

  /** The preview call an agent is in right now, if any (for the agent panel). */
  activePreviewOf(agentId: string): PreviewCallSession | undefined {
    for (const p of this.previews.values()) if (p.agent === agentId && p.isPreviewing) return p;
    return undefined;
  }

  queueIds(): string[] {
    return [...this.queues.keys()];
  }

  /** Live figures of one queue, for the API and metrics. */
  queueFigures(queueId: string): { waiting: number; callers: number; callbacks: number; estimatedWaitSec: number; agentsStaffed: number; agentsAvailable: number } | undefined {
    const q = this.queues.get(queueId);
    if (!q) return undefined;
    const now = this.clock.now();
    const members = this.agents.all().filter((a) => a.queues.some((m) => m.queueId === queueId));
    return {
      waiting: q.order.size,
      callers: q.order.count('caller'),
      callbacks: q.order.count('callback'),
      estimatedWaitSec: this.estimatedWaitSec(queueId, q.order.size + 1),
      agentsStaffed: members.filter((a) => a.loggedIn && !a.paused).length,
      agentsAvailable: members.filter((a) => isAgentAvailable(a, now)).length,
    };
  }

  // ---- views for surfaces and tests ------------------------------------------------------------

  queueSnapshot(queueId: string): { waiting: number; callers: number; callbacks: number; items: readonly WorkItem[] } | undefined {
    const q = this.queues.get(queueId);
    if (!q) return undefined;
    return { waiting: q.order.size, callers: q.order.count('caller'), callbacks: q.order.count('callback'), items: q.order.items() };
  }

  previewFor(callbackId: string): PreviewCallSession | undefined {
    return this.previews.get(callbackId);
  }

  get liveSessions(): number {
    return new Set(this.sessions.values()).size;
  }
}
