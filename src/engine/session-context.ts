import { AppConfig } from '../config/config';
import { CallControl } from '../ari/call-control';
import { Clock, createSeqCounter, WorkItem } from '../domain';
import { Logger } from '../logging/logger';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { PresenceSource } from '../store/agent-presence-store';
import { AgentsPort, CallContext, CallMilestone, ChannelSession, PlacesPort, PolicyPort, QueuesPort } from '../calls/call-context';
import { AgentDirectory } from './agent-directory';
import { CallRouter } from './call-router';
import { Dispatcher } from './dispatcher';
import { checkOwedCallbackNumber } from './number-gate';
import { NumberGuard } from './number-guard';
import { QueueBook } from './queue-book';
import { RunningAttempts } from './running-attempts';
import { SharedState } from './shared-state';

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
 * What the call sessions see of the rest of the process (CallContext): the basics and four role
 * ports, each a small object over one or two engine parts (queues: the book and dispatch; agents:
 * the directory; places: the shared state; policy: the book's models and the number guard), so
 * that a session never reaches into another or into the engine's parts. It builds the two parts
 * that create sessions: the router (calls entering) and the running attempts (callbacks being made).
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
  readonly queues: QueuesPort;
  readonly agents: AgentsPort;
  readonly places: PlacesPort;
  readonly policy: PolicyPort;

  constructor(private readonly deps: SessionContextDeps) {
    this.config = deps.config;
    this.control = deps.control;
    this.store = deps.store;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.book = deps.book;
    this.queues = queuesPort(
      deps,
      (stored) => this.attempts.ended(stored),
      (stored) => this.holdWhileSourceUp(stored),
      (callbackId, channelId) => this.holdForCall(callbackId, channelId),
    );
    this.agents = agentsPort(deps);
    this.places = placesPort(deps.shared);
    this.policy = policyPort(deps);
    this.router = new CallRouter(this, deps.book, deps.agents, deps.dispatcher, deps.shared, createSeqCounter());
    this.attempts = new RunningAttempts(this, deps.book);
  }

  bind(channelId: string, session: ChannelSession): void {
    this.router.bind(channelId, session);
    // A restarted process replaying a confirmation holds the caller again: its callback waits.
    this.book.sourceCallUp(channelId);
  }

  unbind(channelId: string): void {
    this.router.unbind(channelId);
    this.sourceCallEnded(channelId);
  }

  /**
   * A callback just booked on a call waits while a session here holds that call's channel (the
   * confirmation is playing), and is released at once if the caller already left
   * (domain/source-call-hold.ts).
   */
  private holdWhileSourceUp(stored: StoredCallback): void {
    const channelId = stored.sourceChannelId;
    if (channelId === null) return;
    if (this.router.isBound(channelId)) this.book.sourceCallUp(channelId);
    else this.sourceCallEnded(channelId);
  }

  /**
   * The caller on `channelId` already had a callback (a duplicate booking): it waits while this
   * call is up, as a callback waits for the call that booked it. Dialled during "you already have
   * a callback", it would ring the customer who is on the line with us.
   */
  private holdForCall(callbackId: string, channelId: string): void {
    if (this.router.isBound(channelId)) this.book.holdForCall(callbackId, channelId);
  }

  /** The callbacks booked on this call may be dialled: here now, elsewhere once the row says so. */
  private sourceCallEnded(channelId: string): void {
    const released = this.book.sourceCallEnded(channelId);
    if (released.length === 0) return;
    this.dispatchSoon();
    // Best effort: an instance that never hears of it waits out the bound.
    this.store.markSourceCallEnded(released).catch((e: unknown) => {
      this.logger.warn('the end of the call that booked a callback was not recorded', { callbackIds: released, error: String(e) });
    });
  }

  milestone(name: CallMilestone, data: Record<string, unknown>): void {
    this.deps.milestone(name, data);
  }

  /** A callback this process did not place itself joins its queue (time rules, TimeRulesHost). */
  placeCallback(stored: StoredCallback): void {
    this.book.addCallback(stored);
  }

  dispatchSoon(): void {
    this.deps.dispatchSoon();
  }

  /** A callback attempt ended (also reached by the engine for attempts it ends itself). */
  callbackAttemptEnded(stored: StoredCallback): void {
    this.queues.callbackAttemptEnded(stored);
  }
}

/** The queue holding the callbacks one agent owes (a missed direct call's). */
const directQueueIdOf = (agentId: string): string => `direct:${agentId}`;

/** The queues: the book (order, positions) and dispatch (who is being served). */
function queuesPort(
  deps: SessionContextDeps,
  attemptEnded: (stored: StoredCallback) => void,
  booked: (stored: StoredCallback) => void,
  holdForCall: (callbackId: string, channelId: string) => void,
): QueuesPort {
  const { book, dispatcher } = deps;
  return {
    config: (queueId) => book.queue(queueId)?.config,
    enqueue: (item) => book.enqueue(item),
    dequeue: (itemId) => {
      book.dequeue(itemId);
      dispatcher.forgetCaller(itemId);
    },
    moveCaller: (from: WorkItem, to: WorkItem) => {
      book.dequeue(from.id);
      dispatcher.releaseFromService(from.id);
      book.enqueue(to);
      deps.dispatchSoon();
    },
    position: (item) => book.position(item),
    convertToCallback: (callerItem, stored) => {
      book.dequeue(callerItem.id);
      dispatcher.forgetCaller(callerItem.id);
      // Same priority, arrival and (shared) seq: the callback takes exactly the caller's place.
      book.addCallback(stored);
      booked(stored);
      deps.dispatchSoon();
      return book.position({ ...callerItem, id: stored.id, kind: 'callback' });
    },
    addOwedCallback: (stored) => {
      book.addCallback(stored);
      booked(stored);
      deps.dispatchSoon();
    },
    directQueueId: directQueueIdOf,
    callbackAttemptEnded: attemptEnded,
    releaseFromService: (itemId) => dispatcher.releaseFromService(itemId),
    holdForCall,
    declined: (itemId, agentId) => dispatcher.declined(itemId, agentId),
    dispatchSoon: () => deps.dispatchSoon(),
  };
}

/** The agents: the directory (presence, who is free), and dispatch's choice of a free one. */
function agentsPort(deps: SessionContextDeps): AgentsPort {
  const { agents, book, config, clock } = deps;
  return {
    get: (agentId) => agents.get(agentId),
    takeFree: (queueId, itemId) => deps.dispatcher.takeFreeAgent(queueId, itemId),
    busy: (agentId) => agents.reserve(agentId),
    release: (agentId, opts) => {
      const agent = agents.get(agentId);
      if (!agent) return;
      const queue = agent.queues[0] ? book.queue(agent.queues[0].queueId) : undefined;
      if (opts.handleSec !== undefined)
        book.recordHandleTime(
          agent.queues.map((m) => m.queueId),
          opts.handleSec,
        );
      agents.release(agentId, clock.now(), (queue?.config.wrapUpSec ?? 0) * 1000, opts.talked);
      deps.dispatchSoon();
    },
    directOverflowFor: (agentId) => config.agents.find((a) => a.id === agentId)?.directOverflow ?? config.direct.overflow,
    setPresence: (agentId, change, source) => deps.setAgentPresence(agentId, change, source),
  };
}

/** The callers' stored places, shared by every instance through the database. */
function placesPort(shared: SharedState): PlacesPort {
  return {
    store: (input) => shared.storeQueueEntry(input),
    move: (oldEntryId, input) => shared.moveQueueEntry(oldEntryId, input),
    close: (entryId, reason, callbackId) => shared.closeQueueEntry(entryId, reason, callbackId),
    recordAction: (entryId, action, detail) => shared.recordQueueEntryAction(entryId, action, detail),
  };
}

/** The rules: the book's wait and overflow models, and the number guard. */
function policyPort(deps: SessionContextDeps): PolicyPort {
  const { book, config } = deps;
  const numbers = new NumberGuard();
  return {
    estimatedWaitSec: (queueId, position) => book.estimatedWaitSec(queueId, position),
    overflowAction: (item, routeId, waitedSec) => book.overflowAction(item, routeId, waitedSec),
    checkTransferNumber: (queue, rawNumber) => numbers.checkTransferNumber(queue, rawNumber),
    checkCallbackNumber: (queue, rawNumber, callerId) => numbers.checkCallbackNumber(queue, rawNumber, callerId),
    checkOwedCallbackNumber: (agentId, rawNumber) => {
      const fallbackId = config.direct.fallbackQueueId;
      return checkOwedCallbackNumber(
        book.ensureQueue(directQueueIdOf(agentId)),
        fallbackId ? book.queue(fallbackId) : undefined,
        rawNumber,
      );
    },
  };
}
