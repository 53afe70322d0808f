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

/**
 * What the sessions need from the application around them. Implemented by SessionContext (engine/session-context.ts); the
 * sessions never reach into each other or into global state.
 */
export interface CallContext {
  readonly config: AppConfig;
  readonly control: CallControl;
  readonly store: CallbackStore;
  readonly clock: Clock;
  readonly logger: Logger;
  queueConfig(queueId: string): QueueConfig | undefined;
  /** Route events for this channel to this session (before originating it, so nothing is missed). */
  bind(channelId: string, session: ChannelSession): void;
  unbind(channelId: string): void;
  /**
   * Stores a live caller's place (queue, priority, arrival, channel, instance), or finds the one
   * already stored for this channel (a caller adopted after a restart). Resolves with the place
   * to take, or undefined when the database could not be reached (the caller waits anyway).
   */
  storeQueueEntry(input: {
    channel: AriChannel;
    queueId: string;
    priority: number;
    arrivedAt: number;
    routeId: string | undefined;
    first?: { queueId: string; arrivedAt: number };
  }): Promise<{ entryId: string; arrivedAt: number; seq: number } | undefined>;
  /**
   * A caller moved to another queue: its old place is closed (moved) before the new one is
   * stored, so the new place is never the old one found again.
   */
  moveQueueEntry(
    oldEntryId: string | undefined,
    input: {
      channel: AriChannel;
      queueId: string;
      priority: number;
      arrivedAt: number;
      routeId: string | undefined;
      first: { queueId: string; arrivedAt: number };
    },
  ): Promise<{ entryId: string; arrivedAt: number; seq: number } | undefined>;
  /** The caller left the queue: its stored place is closed with why (best effort, retried). */
  closeQueueEntry(entryId: string, reason: QueueExitReason, callbackId?: string): void;
  /** Queue membership. */
  enqueue(item: WorkItem): void;
  dequeue(itemId: string): void;
  /** The same caller, now in another queue (an overflow action moved it): dispatch keeps it. */
  moveCaller(from: WorkItem, to: WorkItem): void;
  position(item: WorkItem): number | undefined;
  /** The estimated wait at a position of a queue (the model that also decides overflow). */
  estimatedWaitSec(queueId: string, position: number): number;
  isOverflowing(item: WorkItem, routeId: string | undefined): boolean;
  /** The overflow action in force for this caller now (undefined: not overflowing). */
  overflowAction(item: WorkItem, routeId: string | undefined, waitedSec: number): ActionInForce | undefined;
  /** An outside number an overflow action would dial, checked against the queue's number policy. */
  checkTransferNumber(queue: QueueConfig, rawNumber: string): { ok: true; e164: string } | { ok: false; reason: string };
  /** An overflow action taken for a caller, stored with its place (best effort). */
  recordQueueEntryAction(entryId: string, action: string, detail: Record<string, unknown>): void;
  /** The caller's item becomes a stored callback at the same place. */
  convertToCallback(callerItem: WorkItem, stored: StoredCallback): void;
  /** An item being connected is skipped by dispatch until released. */
  releaseFromService(itemId: string): void;
  /** An agent let this item ring out or skipped it: not offered it again within the window. */
  declined(itemId: string, agentId: string): void;
  agent(agentId: string): AgentState | undefined;
  /**
   * The toll-fraud guard for a number a caller wants to be called back on, the rules that need no
   * database: normalised (E.164) and checked against the queue's number policy (patterns, premium,
   * international). The two limits that need counting, open callbacks per number and requests per
   * caller (the rate limit, keyed by `requesterKey`), go with the request and are counted and
   * enforced by the booking statement itself: exact under concurrency, and press 1 waits on one
   * round trip.
   */
  checkCallbackNumber(queue: QueueConfig, rawNumber: string, callerId: string): CallbackNumberCheck;
  /** The longest-idle free agent of a queue, reserved for this item, or undefined. */
  takeFreeAgent(queueId: string, itemId: string): string | undefined;
  /** The plugin puts this agent on a call now (ringing included). */
  agentBusy(agentId: string): void;
  /** Whether a missed direct call to this agent offers a callback owed by the agent. */
  directOverflowFor(agentId: string): boolean;
  /** The queue that holds callbacks owed by one agent. */
  directQueueId(agentId: string): string;
  /**
   * A missed direct caller's caller id, before a callback is owed to it: its E.164 form when the
   * owed callbacks' number policy (and the fallback queue's, if any) lets it be dialled.
   */
  checkOwedCallbackNumber(agentId: string, rawNumber: string): { ok: true; e164: string } | { ok: false; reason: string };
  /** A stored callback owed by one agent joins that agent's own queue. */
  addOwedCallback(stored: StoredCallback): void;
  /** The agent's plugin call is over (talked: whether a conversation took place). */
  releaseAgent(agentId: string, opts: { talked: boolean; handleSec?: number }): void;
  /** A callback attempt ended; the callback is back in the queue (pending) or gone. */
  callbackAttemptEnded(stored: StoredCallback): void;
  milestone(name: CallMilestone, data: Record<string, unknown>): void;
  dispatchSoon(): void;
  /**
   * Log-in, log-out, pause or resume an agent (a feature code dialled on the phone): applied at
   * once, then stored. Resolves false for an unknown agent; rejects when it could not be stored.
   */
  setAgentPresence(agentId: string, change: { loggedIn?: boolean; paused?: boolean }, source: PresenceSource): Promise<boolean>;
}

/**
 * Playback ids are deterministic: `<channel id>-pb<n>` with n cycling through a few slots. A
 * process restarted after a crash cannot ask Asterisk which playbacks its predecessor started (ARI
 * has no list of them), yet must stop them before anything else: a real Asterisk holds some
 * channel requests (answer, variable) until the channel's running playback ends (probes.md in
 * test/fixtures/asterisk-22.10.1/, "Channel commands while a playback runs"). A session's prompts never overlap by more than a
 * queued one, so a slot is free again long before it comes round.
 */
export const PLAYBACK_SLOTS = 8;

/** Every playback id a session on this channel may have started (for stopping after a restart). */
export function playbackIdsOf(channelId: string): string[] {
  return Array.from({ length: PLAYBACK_SLOTS }, (_, n) => `${channelId}-pb${n}`);
}

/** Waits for PlaybackFinished of playbacks a session started; settles early if the channel goes. */
export class PlaybackTracker {
  private readonly waiting = new Map<string, () => void>();
  private seq = 0;

  constructor(private readonly owner: string) {}

  /** The next playback id. It names no prompt: a restarted process must know every id to stop. */
  nextId(): string {
    const id = `${this.owner}-pb${this.seq % PLAYBACK_SLOTS}`;
    this.seq += 1;
    return id;
  }

  /** A promise that settles when this playback finishes (or the channel is gone). */
  finished(playbackId: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(playbackId, resolve));
  }

  onEvent(event: AriEvent): void {
    if (event.type === 'PlaybackFinished') {
      const done = this.waiting.get(event.playback.id);
      if (done) {
        this.waiting.delete(event.playback.id);
        done();
      }
    }
  }

  /** The channel is gone: nobody will send PlaybackFinished for what was queued. */
  settleAll(): void {
    for (const done of this.waiting.values()) done();
    this.waiting.clear();
  }

  isPlaying(playbackId: string | undefined): boolean {
    return playbackId !== undefined && this.waiting.has(playbackId);
  }
}
