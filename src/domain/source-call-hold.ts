/**
 * A callback is never dialled while the call that booked it is still up.
 *
 * Press 1 stores the callback first and confirms it after (the caller hears "we will call you
 * back at ..." and is then hung up). The stored callback is dispatchable at once: with its agent
 * free (an owed callback's owner after a missed direct call, or a queue agent who frees up during
 * the confirmation) the agent's phone rang 0.04 s after the booking, while the customer was still
 * on their own call hearing the confirmation. So a callback booked on a call (its source channel)
 * waits for that call's end.
 *
 * Who knows the source call has ended:
 *  - the process whose session holds the channel: the session's end (StasisEnd, ChannelDestroyed)
 *    releases the callback at once. While it holds the channel the callback waits, however long
 *    the confirmation takes (a replay after a restart included): the state is 'up';
 *  - every other process (another instance, or this one restarted before it found the channel
 *    again): the release is written to the callback's row (source_call_ended_at) and reaches
 *    them with the row. Until then the state is 'unknown', and the callback waits at most
 *    SOURCE_CALL_BOUND_MS after its booking (the row's requested_at).
 *
 * The bound is the fallback for when the release never comes (the holding process died, its write
 * failed). The confirmation itself takes about 10 s (a prompt, up to 15 digits, goodbye); a
 * restarted process plays it again under a 30 s bound of its own, and while it does it holds the
 * channel, so the state is 'up' again. A minute covers the confirmation, a restart and the
 * margin, and delays a callback by at most a minute only when the release was lost.
 */
export const SOURCE_CALL_BOUND_MS = 60_000;

/** What this process knows of a callback's source call: held by one of its sessions, or not known here. */
export type SourceCallState = 'up' | 'unknown';

/** A callback as the hold rule sees it. */
export interface SourcedCallback {
  id: string;
  /** The channel of the call that booked it; null for a callback from the API. */
  sourceChannelId: string | null;
  /** Epoch ms of the booking (the row's requested_at). */
  requestedAt: number;
  /** The source call's end is already recorded (by whichever process held it). */
  sourceCallEnded: boolean;
  /** Only a pending callback waits; one in progress is already being dialled. */
  pending: boolean;
}

/** Whether a callback whose source call has not been seen to end must still wait at `now`. */
export function isHeldBySourceCall(state: SourceCallState, requestedAt: number, now: number, boundMs = SOURCE_CALL_BOUND_MS): boolean {
  return state === 'up' || now < requestedAt + boundMs;
}

interface Hold {
  channelId: string;
  requestedAt: number;
  state: SourceCallState;
}

/**
 * The callbacks still waiting for their source call's end, by callback id. Few at any time: a
 * callback leaves it when its call ends, when the bound passes, or when it is forgotten.
 */
export class SourceCallHolds {
  private readonly holds = new Map<string, Hold>();

  constructor(private readonly boundMs = SOURCE_CALL_BOUND_MS) {}

  /** A callback joins the queue: it waits if its source call may still be up. */
  track(cb: SourcedCallback): void {
    if (cb.sourceChannelId === null || cb.sourceCallEnded || !cb.pending || this.holds.has(cb.id)) return;
    this.holds.set(cb.id, { channelId: cb.sourceChannelId, requestedAt: cb.requestedAt, state: 'unknown' });
  }

  /** The callback waits while the call on `channelId`, which a session here holds, is up (a duplicate booking's). */
  holdFor(callbackId: string, channelId: string, now: number): void {
    this.holds.set(callbackId, { channelId, requestedAt: now, state: 'up' });
  }

  /** A session of this process holds this channel: its callbacks wait until it ends. True if any does. */
  sourceUp(channelId: string): boolean {
    let holdsOne = false;
    for (const h of this.holds.values())
      if (h.channelId === channelId) {
        h.state = 'up';
        holdsOne = true;
      }
    return holdsOne;
  }

  /** The channel's call ended: its callbacks are released. Returns their ids (to record the end). */
  sourceEnded(channelId: string): string[] {
    const released: string[] = [];
    for (const [id, h] of this.holds)
      if (h.channelId === channelId) {
        this.holds.delete(id);
        released.push(id);
      }
    return released;
  }

  /** No longer waits: the row says the source call ended, or the callback left the queue. */
  release(callbackId: string): void {
    this.holds.delete(callbackId);
  }

  /** The callbacks that may not be dialled at `now`. A hold whose bound passed unseen is dropped. */
  held(now: number): string[] {
    const ids: string[] = [];
    for (const [id, h] of this.holds) {
      if (isHeldBySourceCall(h.state, h.requestedAt, now, this.boundMs)) ids.push(id);
      else this.holds.delete(id);
    }
    return ids;
  }

  get size(): number {
    return this.holds.size;
  }
}
