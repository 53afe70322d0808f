import { AppConfig, QueueConfig } from '../config/config';
import { CallControl } from '../ari/call-control';
import { ActionInForce, AgentState, Clock, createSeqCounter, WorkItem } from '../domain';
import { Logger } from '../logging/logger';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { QueueExitReason } from '../store/queue-entry-store';
import { PresenceSource } from '../store/agent-presence-store';
import { CallContext, CallMilestone, ChannelSession } from '../calls/call-context';
import { CallbackNumberCheck } from '../calls/callback-booking';
import { AgentDirectory } from './agent-directory';
import { CallRouter } from './call-router';
import { Dispatcher } from './dispatcher';
import { checkOwedCallbackNumber } from './number-gate';
import { NumberGuard } from './number-guard';
import { QueueBook } from './queue-book';
import { RunningAttempts } from './running-attempts';
import { CallerPlace, CallerPlaceInput, SharedState } from './shared-state';

export interface SessionContextDeps {
  config: AppConfig;
  control: CallControl;
  store: CallbackStore;
  clock: Clock;
  logger: Logger;
  agents: AgentDirectory;
  book: QueueBook;
  dispatcher: Dispatcher;
  shared: SharedState;
  milestone(name: CallMilestone, data: Record<string, unknown>): void;
  dispatchSoon(): void;
  setAgentPresence(agentId: string, change: { loggedIn?: boolean; paused?: boolean }, source: PresenceSource): Promise<boolean>;
}

/**
 * What the call sessions see of the rest of the process (CallContext): the queues, dispatch, the
 * agents, the shared places and the number guard, behind one interface so that a session never
 * reaches into another or into the engine's parts. It builds the two parts that create sessions:
 * the router (calls entering) and the running attempts (callbacks being made).
 */
export class SessionContext implements CallContext {
  readonly config: AppConfig;
  readonly control: CallControl;
  readonly store: CallbackStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly book: QueueBook;
  readonly router: CallRouter;
  readonly attempts: RunningAttempts;
  private readonly agents: AgentDirectory;
  private readonly dispatcher: Dispatcher;
  private readonly shared: SharedState;
  private readonly numbers: NumberGuard;

  constructor(private readonly deps: SessionContextDeps) {
    this.config = deps.config;
    this.control = deps.control;
    this.store = deps.store;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.book = deps.book;
    this.agents = deps.agents;
    this.dispatcher = deps.dispatcher;
    this.shared = deps.shared;
    this.numbers = new NumberGuard();
    this.router = new CallRouter(this, deps.book, deps.agents, deps.dispatcher, deps.shared, createSeqCounter());
    this.attempts = new RunningAttempts(this, deps.book);
  }

  queueConfig(queueId: string): QueueConfig | undefined {
    return this.book.queue(queueId)?.config;
  }

  bind(channelId: string, session: ChannelSession): void {
    this.router.bind(channelId, session);
  }

  unbind(channelId: string): void {
    this.router.unbind(channelId);
  }

  storeQueueEntry(input: CallerPlaceInput): Promise<CallerPlace | undefined> {
    return this.shared.storeQueueEntry(input);
  }

  moveQueueEntry(
    oldEntryId: string | undefined,
    input: CallerPlaceInput & { first: { queueId: string; arrivedAt: number } },
  ): Promise<CallerPlace | undefined> {
    return this.shared.moveQueueEntry(oldEntryId, input);
  }

  closeQueueEntry(entryId: string, reason: QueueExitReason, callbackId?: string): void {
    this.shared.closeQueueEntry(entryId, reason, callbackId);
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
    return this.numbers.checkTransferNumber(queue, rawNumber);
  }

  recordQueueEntryAction(entryId: string, action: string, detail: Record<string, unknown>): void {
    this.shared.recordQueueEntryAction(entryId, action, detail);
  }

  convertToCallback(callerItem: WorkItem, stored: StoredCallback): void {
    this.book.dequeue(callerItem.id);
    this.dispatcher.forgetCaller(callerItem.id);
    // Same priority, arrival and (shared) seq: the callback takes exactly the caller's place.
    this.book.addCallback(stored);
    this.dispatchSoon();
  }

  /** A callback this process did not place itself joins its queue (time rules). */
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

  checkCallbackNumber(queue: QueueConfig, rawNumber: string, callerId: string): CallbackNumberCheck {
    return this.numbers.checkCallbackNumber(queue, rawNumber, callerId);
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

  checkOwedCallbackNumber(agentId: string, rawNumber: string): { ok: true; e164: string } | { ok: false; reason: string } {
    const fallbackId = this.config.direct.fallbackQueueId;
    return checkOwedCallbackNumber(
      this.book.ensureQueue(this.directQueueId(agentId)),
      fallbackId ? this.book.queue(fallbackId) : undefined,
      rawNumber,
    );
  }

  addOwedCallback(stored: StoredCallback): void {
    this.book.addCallback(stored);
    this.dispatchSoon();
  }

  releaseAgent(agentId: string, opts: { talked: boolean; handleSec?: number }): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    const queue = agent.queues[0] ? this.book.queue(agent.queues[0].queueId) : undefined;
    if (opts.handleSec !== undefined)
      this.book.recordHandleTime(
        agent.queues.map((m) => m.queueId),
        opts.handleSec,
      );
    this.agents.release(agentId, this.clock.now(), (queue?.config.wrapUpSec ?? 0) * 1000, opts.talked);
    this.dispatchSoon();
  }

  callbackAttemptEnded(stored: StoredCallback): void {
    this.attempts.ended(stored);
  }

  milestone(name: CallMilestone, data: Record<string, unknown>): void {
    this.deps.milestone(name, data);
  }

  dispatchSoon(): void {
    this.deps.dispatchSoon();
  }

  setAgentPresence(agentId: string, change: { loggedIn?: boolean; paused?: boolean }, source: PresenceSource): Promise<boolean> {
    return this.deps.setAgentPresence(agentId, change, source);
  }
}
