import { AppConfig, QueueConfig } from '../config/config';
import { AriChannel, AriEvent } from '../ari/ari-events';
import { CallControl } from '../ari/call-control';
import { ActionInForce, AgentState, Clock, WorkItem } from '../domain';
import { Logger } from '../logging/logger';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { QueueExitReason } from '../store/queue-entry-store';
import { PresenceSource } from '../store/agent-presence-store';
import { CallbackNumberCheck } from './callback-booking';

/** A session owns one or more channels and every event about them. */
export interface ChannelSession {
  readonly kind: string;
  onEvent(event: AriEvent): void;
}

/** Timeline hooks: the demo and the tests observe the story through these. */
export type CallMilestone =
  | 'caller_entered'
  | 'offer_played'
  | 'callback_stored'
  | 'confirmation_started'
  | 'caller_left'
  | 'position_announced'
  | 'caller_moved'
  | 'caller_transferred'
  | 'caller_connected'
  | 'agent_leg_originated'
  | 'agent_leg_answered'
  | 'agent_accepted'
  | 'agent_declined'
  | 'customer_leg_dialled'
  | 'customer_leg_answered'
  | 'bridged'
  | 'callback_attempt_failed'
  | 'callback_completed'
  | 'direct_unavailable'
  | 'callback_refused'
  | 'callback_expired'
  | 'owed_callback_fell_back'
  | 'owed_callback_expired';

/** A caller's stored place as the database has it (engine/shared-state.ts). */
export interface StoredQueueEntry {
  entryId: string;
  arrivedAt: number;
  seq: number;
}

/** What a caller's place is stored with. */
export interface QueueEntryInput {
  channel: AriChannel;
  queueId: string;
  priority: number;
  arrivedAt: number;
  routeId: string | undefined;
  first?: { queueId: string; arrivedAt: number };
}

/** Role port: the queues, where work items wait and dispatch matches them with agents. */
export interface QueuesPort {
  config(queueId: string): QueueConfig | undefined;
  enqueue(item: WorkItem): void;
  dequeue(itemId: string): void;
  /** The same caller, now in another queue (an overflow action moved it): dispatch keeps it. */
  moveCaller(from: WorkItem, to: WorkItem): void;
  position(item: WorkItem): number | undefined;
  /** The caller's item becomes a stored callback at the same place; the callback's position. */
  convertToCallback(callerItem: WorkItem, stored: StoredCallback): number | undefined;
  /** A stored callback owed by one agent joins that agent's own queue. */
  addOwedCallback(stored: StoredCallback): void;
  /** The queue that holds callbacks owed by one agent. */
  directQueueId(agentId: string): string;
  /** A callback attempt ended; the callback is back in the queue (pending) or gone. */
  callbackAttemptEnded(stored: StoredCallback): void;
  /** An item being connected is skipped by dispatch until released. */
  releaseFromService(itemId: string): void;
  /** A callback found already booked for this caller's number waits while this call is up. */
  holdForCall(callbackId: string, channelId: string): void;
  /** An agent let this item ring out or skipped it: not offered it again within the window. */
  declined(itemId: string, agentId: string): void;
  dispatchSoon(): void;
}

/** Role port: the agents, their presence and who is free. */
export interface AgentsPort {
  get(agentId: string): AgentState | undefined;
  /** The longest-idle free agent of a queue, reserved for this item, or undefined. */
  takeFree(queueId: string, itemId: string): string | undefined;
  /** The plugin puts this agent on a call now (ringing included). */
  busy(agentId: string): void;
  /** The agent's plugin call is over (talked: whether a conversation took place). */
  release(agentId: string, opts: { talked: boolean; handleSec?: number }): void;
  /** Whether a missed direct call to this agent offers a callback owed by the agent. */
  directOverflowFor(agentId: string): boolean;
  /**
   * Log-in, log-out, pause or resume an agent (a feature code dialled on the phone): applied at
   * once, then stored. Resolves false for an unknown agent; rejects when it could not be stored.
   */
  setPresence(agentId: string, change: { loggedIn?: boolean; paused?: boolean }, source: PresenceSource): Promise<boolean>;
}

/** Role port: live callers' stored places (queue entry rows), shared by every instance. */
export interface PlacesPort {
  /**
   * Stores a live caller's place, or finds the one already stored for this channel (a caller
   * adopted after a restart). Undefined when the database could not be reached (it waits anyway).
   */
  store(input: QueueEntryInput): Promise<StoredQueueEntry | undefined>;
  /** A caller moved: its old place is closed (moved) before the new one is stored. */
  move(
    oldEntryId: string | undefined,
    input: QueueEntryInput & { first: { queueId: string; arrivedAt: number } },
  ): Promise<StoredQueueEntry | undefined>;
  /** The caller left the queue: its stored place is closed with why (best effort, retried). */
  close(entryId: string, reason: QueueExitReason, callbackId?: string): void;
  /** An action taken for a caller (an offer, an overflow verb), stored with its place (best effort). */
  recordAction(entryId: string, action: string, detail: Record<string, unknown>): void;
}

/** Role port: the rules that decide for a call (overflow, estimated wait, the number guard). */
export interface PolicyPort {
  /** The estimated wait at a position of a queue (the model that also decides overflow). */
  estimatedWaitSec(queueId: string, position: number): number;
  /** The overflow action in force for this caller now (undefined: not overflowing). */
  overflowAction(item: WorkItem, routeId: string | undefined, waitedSec: number): ActionInForce | undefined;
  /** An outside number an overflow action would dial, checked against the queue's number policy. */
  checkTransferNumber(queue: QueueConfig, rawNumber: string): { ok: true; e164: string } | { ok: false; reason: string };
  /**
   * The toll-fraud guard for a number a caller wants to be called back on, the rules that need no
   * database: normalised (E.164) and checked against the queue's number policy (patterns, premium,
   * international). The two limits that need counting, open callbacks per number and requests per
   * caller (the rate limit, keyed by `requesterKey`), go with the request and are counted and
   * enforced by the booking statement itself: exact under concurrency, and press 1 waits on one
   * round trip.
   */
  checkCallbackNumber(queue: QueueConfig, rawNumber: string, callerId: string): CallbackNumberCheck;
  /**
   * A missed direct caller's caller id, before a callback is owed to it: its E.164 form when the
   * owed callbacks' number policy (and the fallback queue's, if any) lets it be dialled.
   */
  checkOwedCallbackNumber(agentId: string, rawNumber: string): { ok: true; e164: string } | { ok: false; reason: string };
}

/**
 * What the sessions need from the application around them: the basics (config, ARI control, the
 * database, clock, logger, event routing, the timeline) and four role ports (queues, agents,
 * places, policy). Implemented by SessionContext (engine/session-context.ts); the sessions never
 * reach into each other or into global state, and a test can fake one port at a time.
 */
export interface CallContext {
  readonly config: AppConfig;
  readonly control: CallControl;
  readonly store: CallbackStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Route events for this channel to this session (before originating it, so nothing is missed). */
  bind(channelId: string, session: ChannelSession): void;
  unbind(channelId: string): void;
  milestone(name: CallMilestone, data: Record<string, unknown>): void;
  readonly queues: QueuesPort;
  readonly agents: AgentsPort;
  readonly places: PlacesPort;
  readonly policy: PolicyPort;
}
