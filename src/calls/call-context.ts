import { AppConfig, QueueConfig } from '../config/config';
import { AriEvent } from '../ari/ari-events';
import { CallControl } from '../ari/call-control';
import { AgentState, Clock, WorkItem } from '../domain';
import { Logger } from '../logging/logger';
import { CallbackStore, StoredCallback } from '../store/callback-store';

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
  | 'caller_hung_up'
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
 * What the sessions need from the application around them. Implemented by CallbackApp; the
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
  /** Queue membership. */
  enqueue(item: WorkItem): void;
  dequeue(itemId: string): void;
  position(item: WorkItem): number | undefined;
  isOverflowing(item: WorkItem, routeId: string | undefined): boolean;
  /** The caller's item becomes a stored callback at the same place. */
  convertToCallback(callerItem: WorkItem, stored: StoredCallback): void;
  /** An item being connected is skipped by dispatch until released. */
  releaseFromService(itemId: string): void;
  /** An agent let this item ring out or skipped it: not offered it again within the window. */
  declined(itemId: string, agentId: string): void;
  agent(agentId: string): AgentState | undefined;
  /**
   * The toll-fraud guard for a number a caller wants to be called back on, the rules that need no
   * database: normalised (E.164), checked against the queue's number policy (patterns, premium,
   * international) and the rate limit per caller id. The policy's last rule, open callbacks per
   * number, is counted by the booking statement itself (`maxOpenElsewhere` goes with the request),
   * so that press 1 waits on one round trip. Records nothing: see recordCallbackRequest.
   */
  checkCallbackNumber(queue: QueueConfig, rawNumber: string, callerId: string): { ok: true; e164: string; maxOpenElsewhere: number } | { ok: false; reason: string };
  /** A request passed every rule (the booking did not refuse it): it counts against the caller id's rate limit. */
  recordCallbackRequest(queue: QueueConfig, callerId: string): void;
  /** The longest-idle free agent of a queue, reserved for this item, or undefined. */
  takeFreeAgent(queueId: string, itemId: string): string | undefined;
  /** The plugin puts this agent on a call now (ringing included). */
  agentBusy(agentId: string): void;
  /** Whether a missed direct call to this agent offers a callback owed by the agent. */
  directOverflowFor(agentId: string): boolean;
  /** The queue that holds callbacks owed by one agent. */
  directQueueId(agentId: string): string;
  /** A stored callback owed by one agent joins that agent's own queue. */
  addOwedCallback(stored: StoredCallback): void;
  /** The agent's plugin call is over (talked: whether a conversation took place). */
  releaseAgent(agentId: string, opts: { talked: boolean; handleSec?: number }): void;
  /** A callback attempt ended; the callback is back in the queue (pending) or gone. */
  callbackAttemptEnded(stored: StoredCallback): void;
  milestone(name: CallMilestone, data: Record<string, unknown>): void;
  dispatchSoon(): void;
}

/** Waits for PlaybackFinished of playbacks a session started; settles early if the channel goes. */
export class PlaybackTracker {
  private readonly waiting = new Map<string, () => void>();
  private seq = 0;

  constructor(private readonly owner: string) {}

  nextId(label: string): string {
    this.seq += 1;
    return `${this.owner}-${label}-${this.seq}`;
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
