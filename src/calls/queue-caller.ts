import { AriChannel } from '../ari/ari-events';
import { WorkItem } from '../domain';
import { StoredCallback } from '../store/callback-store';
import type { CallerWait } from './caller-wait';
import type { Hold } from './hold';
import { OverflowCaller, OverflowEndReason } from './overflow-verbs';
import { ChannelPlaybacks } from './playback';
import { QueueCallerState, QueueCallerStep } from './queue-caller-states';

export type { QueueCallerState, QueueCallerStep } from './queue-caller-states';

/**
 * Why a queue caller's call ended, logged and reported: the caller hung up (or was gone at
 * start), the agent hung up after talking, the plugin ended it after the callback confirmation,
 * or it could not be set up or bridged.
 */
export type CallerEndReason =
  'caller_hung_up' | 'caller_gone' | 'agent_hung_up' | 'ended_after_confirmation' | 'setup_failed' | 'bridge_failed' | OverflowEndReason;

/** What a new process knows of a queue caller its predecessor left in Stasis. */
export interface QueueCallerAdoption {
  /** The caller's place: its stored arrival, or the channel's creation time. */
  arrivedAt: number;
  /**
   * The shared holding bridge (isHoldingBridgeOf) `GET /bridges` lists the channel in: it is kept
   * there. Undefined: in no bridge, or in another (its quiet bridge, a mixing bridge), and so it is
   * added to its queue's holding bridge.
   */
  holdingBridgeId: string | undefined;
}

/**
 * A verb (jambonz's tasks): one thing a caller hears or does while it waits, started by `run`
 * and ended by `kill`. Killing a verb leaves nothing behind it (no timer, no playback, no leg);
 * the session kills the verbs it runs when the call ends.
 */
export interface CallerVerb {
  kill(): Promise<void>;
}

/**
 * What a queue caller's session lends the verbs that fill the caller's time (Hold, Announce,
 * OfferCallback, EnterNumber and the overflow verbs). The session stays the one owner of the
 * call's state; the verbs read it and move it on through this port, by the steps of the table in
 * queue-caller-states.ts.
 */
export interface QueueCaller extends OverflowCaller {
  readonly channel: AriChannel;
  readonly routeId: string | undefined;
  /** The caller's work item in dispatch. */
  readonly item: WorkItem;
  /** The item's seq came from the database (shared by every instance), not from this process. */
  readonly seqIsShared: boolean;
  readonly playbacks: ChannelPlaybacks;
  readonly hold: Hold;
  readonly wait: CallerWait;
  readonly state: QueueCallerState;
  /** Moves the state on if the table allows this step now; false: refused (the call moved on meanwhile). */
  step(step: QueueCallerStep): boolean;
  /** The plugin ends the call; the reason is set first so the StasisEnd that follows keeps it. */
  hangupCaller(why: CallerEndReason): Promise<void>;
  /** The caller's place goes to the callback just booked (same arrival, same seq); its position in the queue. */
  leaveForCallback(stored: StoredCallback): number | undefined;
  /** The caller's number already has a callback, which keeps its own place: this one is given up. */
  leaveForEarlierCallback(callbackId: string): void;
}
