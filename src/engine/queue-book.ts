import { AppConfig, QueueConfig } from '../config/config';
import {
  ActionInForce,
  actionInForce,
  Clock,
  estimateWaitSec,
  HandleTimeAverage,
  isAgentAvailable,
  OverflowStep,
  parseOverflowAction,
  PendingCallback,
  QueueOrder,
  resolveOverflowRule,
  WorkItem,
} from '../domain';
import { isOpen } from '../domain/policies';
import { SourceCallHolds } from '../domain/source-call-hold';
import { Logger } from '../logging/logger';
import { StoredCallback } from '../store/callback-store';
import { AgentDirectory } from './agent-directory';
import { owedCallbackNumberPolicy } from './number-gate';

/**
 * The queues as this process sees them: one strict order per queue holding every waiting item,
 * live callers and callbacks alike, and the figures derived from it (position, estimated wait,
 * overflow). Live callers held by another instance (on another Asterisk) are in the order too, so
 * positions count them, but only their own instance serves them.
 */
export interface QueueRuntime {
  config: QueueConfig;
  order: QueueOrder;
  handleTime: HandleTimeAverage;
}

/** A stored callback and its dispatch state. */
export interface CallbackEntry {
  stored: StoredCallback;
  pending: PendingCallback;
}

export interface QueueFigures {
  waiting: number;
  callers: number;
  callbacks: number;
  estimatedWaitSec: number;
  agentsStaffed: number;
  agentsAvailable: number;
}

export class QueueBook {
  private readonly queues = new Map<string, QueueRuntime>();
  private readonly callbacks = new Map<string, CallbackEntry>();
  /** Every pending callback's dispatch state, kept with `callbacks` so a dispatch never rebuilds it. */
  readonly pendingView = new Map<string, PendingCallback>();
  /** The pending callbacks owed by one agent (direct calls), kept apart so dispatch finds these few without scanning the backlog. */
  readonly owedView = new Map<string, PendingCallback>();
  /** Live callers other instances hold: item id -> queue id. */
  private readonly remote = new Map<string, string>();
  /** Overflow steps per queue and route (see ladder()). */
  private readonly ladders = new Map<string, readonly OverflowStep[]>();
  /** Callbacks not dialled yet because the call that booked them may still be up. */
  private readonly sourceHolds = new SourceCallHolds();

  constructor(
    private readonly config: AppConfig,
    private readonly agents: AgentDirectory,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    for (const q of config.queues) {
      this.queues.set(q.id, {
        config: q,
        order: new QueueOrder(),
        handleTime: new HandleTimeAverage({ coldStartSec: q.coldStartHandleSec }),
      });
    }
  }

  queue(queueId: string): QueueRuntime | undefined {
    return this.queues.get(queueId);
  }

  all(): IterableIterator<QueueRuntime> {
    return this.queues.values();
  }

  queueIds(): string[] {
    return [...this.queues.keys()];
  }

  /** The queue holding one agent's owed callbacks (`direct:<agent>`), created on first use. */
  ensureQueue(queueId: string): QueueRuntime | undefined {
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
      // The same gate as press 1 in a queue: never a policy that lets premium or foreign numbers through.
      numberPolicy: owedCallbackNumberPolicy(this.config),
      otherNumber: false,
      rateLimit: { limit: 3, windowSec: 3600 },
      expiryDays: 7,
      // Owed callbacks are personal: always the owner's preview call first.
      mode: 'agent-first',
      customerFirstMaxWaitSec: 60,
      announce: { onEntry: false, everySec: null },
    };
    const runtime: QueueRuntime = { config, order: new QueueOrder(), handleTime: new HandleTimeAverage({ coldStartSec: 180 }) };
    this.queues.set(queueId, runtime);
    return runtime;
  }

  // ---- live callers ---------------------------------------------------------------------------

  enqueue(item: WorkItem): void {
    const order = this.queues.get(item.queueId)?.order;
    if (order && !order.has(item.id)) order.add(item);
  }

  /** Removes an item (caller or callback) from whichever queue holds it. */
  dequeue(itemId: string): void {
    for (const q of this.queues.values()) if (q.order.remove(itemId)) break;
  }

  /** A live caller held by another instance: in the order, never served here. */
  addRemoteCaller(item: WorkItem): void {
    if (this.remote.has(item.id)) return;
    this.remote.set(item.id, item.queueId);
    this.enqueue(item);
  }

  removeRemoteCaller(itemId: string): void {
    const queueId = this.remote.get(itemId);
    if (queueId === undefined) return;
    this.remote.delete(itemId);
    this.queues.get(queueId)?.order.remove(itemId);
  }

  isRemote(itemId: string): boolean {
    return this.remote.has(itemId);
  }

  remoteCallerIds(): string[] {
    return [...this.remote.keys()];
  }

  // ---- callbacks ------------------------------------------------------------------------------

  callback(id: string): CallbackEntry | undefined {
    return this.callbacks.get(id);
  }

  callbackEntries(): IterableIterator<[string, CallbackEntry]> {
    return this.callbacks.entries();
  }

  /** Adds a stored callback to its queue at the place its priority, arrival and seq give it. */
  addCallback(stored: StoredCallback): boolean {
    const q = this.ensureQueue(stored.queueId);
    if (!q) {
      this.logger.warn('stored callback for a queue no longer configured; left pending', {
        callbackId: stored.id,
        queueId: stored.queueId,
      });
      return false;
    }
    if (this.callbacks.has(stored.id)) return false;
    q.order.add({
      id: stored.id,
      queueId: stored.queueId,
      kind: 'callback',
      priority: stored.priority,
      arrivedAt: stored.arrivedAt.getTime(),
      seq: stored.seq,
    });
    const entry: CallbackEntry = {
      stored,
      pending: {
        itemId: stored.id,
        queueId: stored.queueId,
        ownerAgentId: stored.ownerAgentId ?? undefined,
        declinedBy: [],
        inFlight: false,
        notBefore: this.notBeforeOf(stored),
      },
    };
    this.callbacks.set(stored.id, entry);
    this.pendingView.set(stored.id, entry.pending);
    if (entry.pending.ownerAgentId !== undefined) this.owedView.set(stored.id, entry.pending);
    this.sourceHolds.track({
      id: stored.id,
      sourceChannelId: stored.sourceChannelId,
      requestedAt: stored.requestedAt.getTime(),
      sourceCallEnded: stored.sourceCallEndedAt != null,
      pending: stored.status === 'pending',
    });
    return true;
  }

  /** New stored state of a known callback (same queue): dispatch timing follows it. */
  updateCallback(stored: StoredCallback): void {
    const entry = this.callbacks.get(stored.id);
    if (!entry) return;
    entry.stored = stored;
    entry.pending.notBefore = this.notBeforeOf(stored);
    // Only ever released here: a row read before the call's end was recorded must not hold it again.
    if (stored.sourceCallEndedAt != null) this.sourceHolds.release(stored.id);
  }

  /**
   * A session of this process holds this channel: the callbacks it booked wait for its end, past
   * the bound (see domain/source-call-hold.ts).
   */
  sourceCallUp(channelId: string): void {
    this.sourceHolds.sourceUp(channelId);
  }

  /** A pending callback waits while the call on `channelId` is up (its customer is on that call). */
  holdForCall(callbackId: string, channelId: string): void {
    if (this.callbacks.get(callbackId)?.stored.status === 'pending') this.sourceHolds.holdFor(callbackId, channelId, this.clock.now());
  }

  /** The call on this channel ended: the callbacks it booked may be dialled. Returns their ids. */
  sourceCallEnded(channelId: string): string[] {
    return this.sourceHolds.sourceEnded(channelId);
  }

  /** The callbacks that wait for the call that booked them, at `now` (dispatch skips them). */
  heldBySourceCalls(now: number): string[] {
    return this.sourceHolds.size === 0 ? [] : this.sourceHolds.held(now);
  }

  /**
   * In progress elsewhere (another instance, or a crashed one whose lease still runs): not before
   * the lease ends. Otherwise its retry gap or schedule.
   */
  private notBeforeOf(stored: StoredCallback): number | undefined {
    return stored.status === 'in_progress'
      ? (stored.claimExpiresAt?.getTime() ?? this.clock.now())
      : (stored.notBefore?.getTime() ?? undefined);
  }

  forgetCallback(id: string): void {
    const entry = this.callbacks.get(id);
    if (!entry) return;
    this.queues.get(entry.stored.queueId)?.order.remove(id);
    this.callbacks.delete(id);
    this.pendingView.delete(id);
    this.owedView.delete(id);
    this.sourceHolds.release(id);
  }

  get callbackCount(): number {
    return this.callbacks.size;
  }

  // ---- figures --------------------------------------------------------------------------------

  position(item: WorkItem): number | undefined {
    return this.queues.get(item.queueId)?.order.position(item.id);
  }

  estimatedWaitSec(queueId: string, position: number): number {
    const q = this.queues.get(queueId);
    if (!q) return 0;
    const { staffed, available } = this.staffing(queueId);
    return estimateWaitSec({ position, averageHandleSec: q.handleTime.averageSec(), availableAgents: available, staffedAgents: staffed });
  }

  private staffing(queueId: string): { staffed: number; available: number } {
    const now = this.clock.now();
    const members = this.agents.all().filter((a) => a.queues.some((m) => m.queueId === queueId));
    return {
      staffed: members.filter((a) => a.loggedIn && !a.paused).length,
      available: members.filter((a) => isAgentAvailable(a, now)).length,
    };
  }

  /**
   * The overflow action in force for this caller now, or undefined when the queue is not
   * overflowing for it: the queue's ladder (or its route's), over the caller's position, the
   * estimated wait, how long it has waited and the operating hours.
   */
  overflowAction(item: WorkItem, routeId: string | undefined, waitedSec: number): ActionInForce | undefined {
    const q = this.queues.get(item.queueId);
    if (!q) return undefined;
    const steps = this.ladder(q.config, routeId);
    if (steps.length === 0) return undefined;
    const position = q.order.position(item.id) ?? q.order.size + 1;
    return actionInForce(steps, {
      waitingCount: q.order.size,
      estimatedWaitSec: this.estimatedWaitSec(item.queueId, position),
      waitedSec,
      outOfHours: q.config.hours !== undefined && !isOpen(q.config.hours, this.clock.now()),
    });
  }

  isOverflowing(item: WorkItem, routeId: string | undefined): boolean {
    return this.overflowAction(item, routeId, 0) !== undefined;
  }

  /**
   * A queue's overflow steps, as a route names them: the route's own actions replace the queue's;
   * without actions, the fields (the queue's, overridden field by field by the route's) are one
   * callback step. Parsed once per queue and route (the config module has checked them).
   */
  private ladder(queue: QueueConfig, routeId: string | undefined): readonly OverflowStep[] {
    const key = `${queue.id}\u0000${routeId ?? ''}`;
    const cached = this.ladders.get(key);
    if (cached) return cached;
    const route = routeId !== undefined ? this.config.routes[routeId]?.overflow : undefined;
    const source =
      route?.actions ??
      (route && (route.maxWaiting !== undefined || route.maxEstimatedWaitSec !== undefined || route.outOfHours !== undefined)
        ? undefined
        : queue.overflow.actions);
    let steps: OverflowStep[];
    if (source) {
      steps = source.map((s) => {
        const parsed = parseOverflowAction(s.action);
        if (!parsed.ok) throw new Error(`${queue.id}: ${parsed.error}`);
        return { when: s.when, action: parsed.action };
      });
    } else {
      const rule = resolveOverflowRule(
        { maxWaiting: queue.overflow.maxWaiting ?? undefined, maxEstimatedWaitSec: queue.overflow.maxEstimatedWaitSec ?? undefined },
        route,
      );
      const outOfHours = (route?.outOfHours ?? queue.overflow.outOfHours) === true;
      const when = { ...rule, ...(outOfHours ? { outOfHours: true } : {}) };
      steps = Object.keys(when).length > 0 ? [{ when, action: { kind: 'callback' } }] : [];
    }
    this.ladders.set(key, steps);
    return steps;
  }

  figures(queueId: string): QueueFigures | undefined {
    const q = this.queues.get(queueId);
    if (!q) return undefined;
    const { staffed, available } = this.staffing(queueId);
    return {
      waiting: q.order.size,
      callers: q.order.count('caller'),
      callbacks: q.order.count('callback'),
      estimatedWaitSec: this.estimatedWaitSec(queueId, q.order.size + 1),
      agentsStaffed: staffed,
      agentsAvailable: available,
    };
  }

  snapshot(queueId: string): { waiting: number; callers: number; callbacks: number; items: readonly WorkItem[] } | undefined {
    const q = this.queues.get(queueId);
    if (!q) return undefined;
    return { waiting: q.order.size, callers: q.order.count('caller'), callbacks: q.order.count('callback'), items: q.order.items() };
  }

  /** Records a finished conversation's length for the queues this agent serves. */
  recordHandleTime(agentQueues: readonly string[], handleSec: number): void {
    for (const id of agentQueues) this.queues.get(id)?.handleTime.record(handleSec);
  }
}
