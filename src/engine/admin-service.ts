import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { QueueConfig } from '../config/config';
import { AgentState, Clock, DEFAULT_LANGUAGE, isItemPriority, ITEM_PRIORITY_MAX, ITEM_PRIORITY_MIN, WorkItem } from '../domain';
import { CallMilestone } from '../calls/call-context';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { PresenceSource } from '../store/agent-presence-store';
import { DayReport, DayReportQuery } from '../store/day-report-queries';
import { AdminOperations, AgentPreview, CallbackRecords, CallbackRefused, LiveCounts, MilestoneListener, NewCallback } from './admin-port';
import { AgentDirectory } from './agent-directory';
import { checkNumber } from './number-guard';
import { failIfNumberRefused } from './number-gate';
import { QueueBook, QueueFigures } from './queue-book';
import { RunningAttempts } from './running-attempts';
import { SharedState } from './shared-state';
import { AgentStateClock, buildWallSnapshot, WallSnapshot } from './wall-snapshot';

export interface AdminServiceDeps {
  store: CallbackStore;
  clock: Clock;
  agents: AgentDirectory;
  book: QueueBook;
  attempts: RunningAttempts;
  shared: SharedState;
  milestones: EventEmitter<{ milestone: [CallMilestone, Record<string, unknown>] }>;
  dispatchSoon(): void;
  /** The engine's live state, counted where it is kept (CallbackApp). */
  liveCounts(): LiveCounts;
}

/**
 * The operations of the administrators' and agents' surfaces (API, panel, CLI through the API,
 * feature codes for presence). Each change applies to this process's queues at once and is
 * stored, so that other instances and a restarted process see it.
 */
export class AdminService implements AdminOperations {
  readonly callbacks: CallbackRecords;
  /** When each agent entered its state, as the wallboard's snapshots saw it. */
  private readonly agentStateClock = new AgentStateClock();

  constructor(private readonly deps: AdminServiceDeps) {
    this.callbacks = deps.store;
  }

  now(): number {
    return this.deps.clock.now();
  }

  liveCounts(): LiveCounts {
    return this.deps.liveCounts();
  }

  dayReport(q: DayReportQuery): Promise<DayReport> {
    return this.deps.store.dayReport(q);
  }

  wallSnapshot(): WallSnapshot {
    const { book, clock, agents } = this.deps;
    const now = clock.now();
    const queues = book.queueIds().flatMap((id) => {
      const q = book.queue(id);
      const items = book.snapshot(id)?.items;
      if (!q || !items) return [];
      const configured = !id.startsWith('direct:');
      return [{ id, name: q.config.name ?? id, items, estimatedWaitSec: book.estimatedWaitSec(id, items.length + 1), configured }];
    });
    const callback = (id: string) => {
      const e = book.callback(id);
      if (!e) return undefined;
      const dialling = e.pending.inFlight || e.stored.status === 'in_progress';
      return { requestedAt: e.stored.requestedAt.getTime(), notBefore: e.pending.notBefore, dialling };
    };
    return buildWallSnapshot({ now, queues, callback, agents: agents.all() }, this.agentStateClock);
  }

  agent(agentId: string): AgentState | undefined {
    return this.deps.agents.get(agentId);
  }

  allAgents(): AgentState[] {
    return this.deps.agents.all();
  }

  queueIds(): string[] {
    return this.deps.book.queueIds();
  }

  queueConfig(queueId: string): QueueConfig | undefined {
    return this.deps.book.queue(queueId)?.config;
  }

  queueFigures(queueId: string): QueueFigures | undefined {
    return this.deps.book.figures(queueId);
  }

  queueItems(queueId: string): readonly WorkItem[] | undefined {
    return this.deps.book.queue(queueId)?.order.items();
  }

  estimatedWaitSec(queueId: string, position: number): number {
    return this.deps.book.estimatedWaitSec(queueId, position);
  }

  activePreviewOf(agentId: string): AgentPreview | undefined {
    return this.deps.attempts.activePreviewOf(agentId);
  }

  previewFor(callbackId: string): AgentPreview | undefined {
    return this.deps.attempts.previewFor(callbackId);
  }

  onMilestone(listener: MilestoneListener): () => void {
    const { milestones } = this.deps;
    milestones.on('milestone', listener);
    return () => milestones.off('milestone', listener);
  }

  async createCallback(input: NewCallback): Promise<{ kind: 'stored' | 'duplicate'; callback: StoredCallback }> {
    const { book, store, clock } = this.deps;
    const q = book.queue(input.queueId);
    if (!q) throw new Error(`unknown queue '${input.queueId}'`);
    if (input.priority !== undefined && !isItemPriority(input.priority))
      throw new CallbackRefused(`priority: a whole number from ${ITEM_PRIORITY_MIN} to ${ITEM_PRIORITY_MAX}`);
    const now = clock.now();
    // The same toll-fraud guard as for callers: an API client cannot book a premium or foreign
    // number the queue's policy refuses.
    const check = checkNumber(q.config, input.number);
    if (!check.ok)
      throw new CallbackRefused(
        check.invalid ? `number: not a valid number (${check.reason})` : `number: refused by the queue's number policy (${check.reason})`,
      );
    const r = await store.requestCallback({
      id: randomUUID(),
      queueId: input.queueId,
      customerNumber: check.e164,
      customerName: input.name ?? null,
      ownerAgentId: input.ownerAgentId ?? null,
      // Without a language of its own the callback speaks the queue's.
      language: input.language ?? q.config.language ?? DEFAULT_LANGUAGE,
      // Only what the request states (routes.ts checked its range), else the queue's: never a bonus.
      priority: input.priority ?? q.config.priority,
      // A scheduled callback takes its place in the queue at its time.
      arrivedAt: new Date(Math.max(now, input.notBefore?.getTime() ?? now)),
      maxAttempts: q.config.maxAttempts,
      notBefore: input.notBefore ?? null,
      // The per-number limit applies as for callers. The per-caller rate limit does not: an API
      // request has no caller, and its client is an authenticated administrator or agent whose
      // requests the API's own authentication already names. No requesterKey: not counted.
      maxOpenElsewhere: check.maxOpenElsewhere,
    });
    if (r.kind === 'over_limit') throw new CallbackRefused("number: refused by the queue's number policy (too_many_pending)");
    if (r.kind === 'rate_limited') throw new CallbackRefused('number: too many requests (rate_limited)');
    if (r.kind === 'duplicate') return { kind: 'duplicate', callback: r.existing };
    book.addCallback(r.callback);
    this.deps.dispatchSoon();
    return { kind: 'stored', callback: r.callback };
  }

  async cancelCallback(id: string, reason: string): Promise<'cancelled' | 'in_progress' | 'not_open'> {
    const { book, store, clock } = this.deps;
    if (book.callback(id)?.pending.inFlight) return 'in_progress';
    const current = await store.get(id);
    if (!current || (current.status !== 'pending' && current.status !== 'in_progress')) return 'not_open';
    if (current.status === 'in_progress') return 'in_progress';
    const done = await store.setStatus(id, 'cancelled', reason, new Date(clock.now()));
    if (!done) return 'not_open';
    book.forgetCallback(id);
    return 'cancelled';
  }

  async rescheduleCallback(id: string, notBefore: Date): Promise<StoredCallback | undefined> {
    const { book, store, clock } = this.deps;
    // A number the queue's policy refuses is failed, not rescheduled: it would never be dialled.
    const current = book.callback(id)?.stored ?? (await store.get(id));
    if (current?.status === 'pending') {
      const queue = book.ensureQueue(current.queueId)?.config;
      if (await failIfNumberRefused(store, queue, current, new Date(clock.now()))) {
        book.forgetCallback(id);
        return undefined;
      }
    }
    const updated = await store.reschedule(id, notBefore, new Date(clock.now()));
    const entry = book.callback(id);
    if (updated && entry) {
      entry.stored = updated;
      entry.pending.notBefore = notBefore.getTime();
    }
    return updated;
  }

  async setAgentPresence(agentId: string, change: { loggedIn?: boolean; paused?: boolean }, source: PresenceSource): Promise<boolean> {
    const { agents } = this.deps;
    const agent = agents.get(agentId);
    if (!agent) return false;
    if (change.loggedIn !== undefined) agents.setLoggedIn(agentId, change.loggedIn);
    if (change.paused !== undefined) agents.setPaused(agentId, change.paused);
    this.deps.dispatchSoon();
    await this.deps.shared.storePresence(agentId, change, { loggedIn: agent.loggedIn, paused: agents.manualPause(agentId) }, source);
    return true;
  }
}
