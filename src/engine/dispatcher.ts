import { Clock, AgentDecline, planAssignments, pickAgent } from '../domain';
import { isOpen, nextOpening } from '../domain/policies';
import { AppConfig, QueueConfig } from '../config/config';
import { AgentDirectory } from './agent-directory';
import { CallbackEntry, QueueBook } from './queue-book';

/**
 * Who is served next: after any change (an arrival, a hang-up, an agent freeing up, a timer, a
 * call's outcome) the pure plan (src/domain/dispatch.ts) is run over the queues and the free
 * agents, and each planned pair is started: a live caller is connected to the agent, a callback
 * gets its preview call (or customer-first call).
 */

/** A live caller this process holds, as dispatch sees it. */
export interface DispatchableCaller {
  /**
   * Waiting, so able to take an agent now. A caller entering a number, storing a booking or in an
   * overflow verb is passed over (the next in line gets the agent): planned anyway, its ring was
   * refused, the agent freed, and dispatch picked it again on every turn of the loop (the fuzzer).
   */
  readonly readyForAgent: boolean;
  connectToAgent(agentId: string): Promise<void>;
}

export interface DispatchStarts {
  /** A callback's attempt with this agent (preview or customer-first, by the queue's mode). */
  startCallback(entry: CallbackEntry, queue: QueueConfig, agentId: string): void;
}

export class Dispatcher {
  private readonly callers = new Map<string, DispatchableCaller>();
  private readonly itemsInService = new Set<string>();
  private readonly callerDeclines = new Map<string, AgentDecline[]>();
  private queued = false;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly book: QueueBook,
    private readonly agents: AgentDirectory,
    private readonly clock: Clock,
    private readonly starts: DispatchStarts,
  ) {}

  registerCaller(itemId: string, caller: DispatchableCaller): void {
    this.callers.set(itemId, caller);
  }

  /** Ids of the live callers this process holds (channel ids). */
  callerIds(): string[] {
    return [...this.callers.keys()];
  }

  /** The caller left the queue (hung up, connected, took a callback): forget what dispatch knew. */
  forgetCaller(itemId: string): void {
    this.callers.delete(itemId);
    this.callerDeclines.delete(itemId);
    this.itemsInService.delete(itemId);
  }

  releaseFromService(itemId: string): void {
    this.itemsInService.delete(itemId);
  }

  /** An agent let this item ring out or skipped it: not offered it again within the window. */
  declined(itemId: string, agentId: string): void {
    const until = this.clock.now() + this.config.callback.declineWindowSec * 1000;
    const cb = this.book.callback(itemId);
    if (cb) {
      cb.pending.declinedBy = [...cb.pending.declinedBy.filter((d) => d.agentId !== agentId), { agentId, until }];
      return;
    }
    const list = this.callerDeclines.get(itemId) ?? [];
    this.callerDeclines.set(itemId, [...list.filter((d) => d.agentId !== agentId), { agentId, until }]);
  }

  /** The longest-idle free agent of a queue who has not declined this item, reserved for it. */
  takeFreeAgent(queueId: string, itemId: string): string | undefined {
    const now = this.clock.now();
    const declines = this.book.callback(itemId)?.pending.declinedBy ?? this.callerDeclines.get(itemId) ?? [];
    const agent = pickAgent(this.agents.all(), queueId, now, (id) => declines.some((d) => d.agentId === id && d.until > now));
    if (!agent) return undefined;
    this.agents.reserve(agent.id);
    return agent.id;
  }

  /** Plans again on the next turn of the event loop; many calls in a row plan once. */
  soon(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      if (!this.stopped) this.run();
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private run(): void {
    const now = this.clock.now();
    // Outside a queue's operating hours none of its callbacks is dialled: they wait, in place,
    // for the next opening.
    const queueNotBefore = new Map<string, number>();
    for (const q of this.book.all()) {
      if (q.config.hours && !isOpen(q.config.hours, now))
        queueNotBefore.set(q.config.id, nextOpening(q.config.hours, now) ?? Number.MAX_SAFE_INTEGER);
    }
    // Live callers other instances hold count in the order but only their instance serves them.
    const notHere = new Set(this.itemsInService);
    for (const id of this.book.remoteCallerIds()) notHere.add(id);
    // A callback is not dialled while the call that booked it is still up (the confirmation).
    for (const id of this.book.heldBySourceCalls(now)) notHere.add(id);
    const reserved = new Set(
      this.agents
        .all()
        .filter((a) => a.onPluginCall)
        .map((a) => a.id),
    );
    const assignments = planAssignments({
      now,
      queues: [...this.book.all()].map((q) => ({ queueId: q.config.id, order: q.order })),
      callbacks: this.book.pendingView,
      owedCallbacks: this.book.owedView.values(),
      queueNotBefore,
      agents: this.agents.all(),
      agentsReserved: reserved,
      // Asked only of the items the plan reaches (the heads of the queues), not of every caller.
      itemsInService: { has: (id) => notHere.has(id) || this.callers.get(id)?.readyForAgent === false },
      callerDeclines: this.callerDeclines,
    });
    for (const a of assignments) {
      this.agents.reserve(a.agentId);
      if (a.kind === 'caller') {
        const caller = this.callers.get(a.itemId);
        if (!caller) {
          this.agents.release(a.agentId, this.clock.now(), 0, false);
          continue;
        }
        this.itemsInService.add(a.itemId);
        void caller.connectToAgent(a.agentId);
      } else {
        const entry = this.book.callback(a.itemId);
        const queue = this.book.queue(a.queueId);
        if (!entry || !queue) {
          this.agents.release(a.agentId, this.clock.now(), 0, false);
          continue;
        }
        entry.pending.inFlight = true;
        this.starts.startCallback(entry, queue.config, a.agentId);
      }
    }
  }
}
