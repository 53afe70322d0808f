/**
 * The callback-offer loop for one waiting caller, as a pure decision. The app calls decideOffer
 * whenever something changes (timer fired, position moved, overflow state changed) and acts on
 * the answer; it never needs to remember why it is waiting.
 *
 * Rules, in precedence order:
 *  1. accepted -> stop('accepted'); ended (hung up / answered) -> stop('ended').
 *  2. thresholdPosition > 0 and position <= thresholdPosition -> stop('threshold_reached'):
 *     a caller that close to the front is about to be served, so offering a callback would only
 *     make things worse. The app should treat this as final for the call; the position can only
 *     drift back if a higher-priority call arrives, and re-offering after "you're next" confuses.
 *  3. not overflowing -> idle: nothing to do now; re-check when overflow state changes.
 *  4. first offer: due at enteredAt + initialDelayMs. If the queue only starts overflowing
 *     after that moment, the offer is made at once (the caller has already waited long enough).
 *  5. later offers: due at lastOfferAt + intervalMs, measured from the START of the previous
 *     offer, so the cadence does not stretch with the prompt length. The app must not call
 *     for a new offer while a prompt is still playing (keep intervalMs longer than the prompt).
 *  If the offer is due -> offer_now, else wait(untilMs = due time).
 */
export interface OfferPolicy {
  /** Delay from entering the queue to the first offer; default 30000. */
  initialDelayMs: number;
  /** Delay between offer starts; default 30000. Must be > 0. */
  intervalMs: number;
  /** At or ahead of this position (position <= threshold) no more offers; 0 disables. */
  thresholdPosition: number;
}

export const DEFAULT_OFFER_POLICY: Readonly<OfferPolicy> = Object.freeze({
  initialDelayMs: 30_000,
  intervalMs: 30_000,
  thresholdPosition: 0,
});

export interface OfferState {
  /** Epoch ms the caller entered the queue (this queue visit, not the original arrival). */
  enteredAt: number;
  offersMade: number;
  /** Start time of the last offer, or null before the first one. */
  lastOfferAt: number | null;
  accepted: boolean;
  ended: boolean;
}

export type OfferStopReason = 'accepted' | 'ended' | 'threshold_reached';

export type OfferDecision =
  { kind: 'offer_now' } | { kind: 'wait'; untilMs: number } | { kind: 'idle' } | { kind: 'stop'; reason: OfferStopReason };

export interface OfferContext {
  now: number;
  position: number;
  overflowing: boolean;
}

/** Throws RangeError for a policy that would stall or spin the loop (config error, fail fast). */
export function assertValidOfferPolicy(policy: OfferPolicy): void {
  if (!(Number.isFinite(policy.initialDelayMs) && policy.initialDelayMs >= 0)) {
    throw new RangeError(`OfferPolicy.initialDelayMs must be >= 0, got ${policy.initialDelayMs}`);
  }
  // A zero interval would re-offer in a tight loop the moment a prompt ends.
  if (!(Number.isFinite(policy.intervalMs) && policy.intervalMs > 0)) {
    throw new RangeError(`OfferPolicy.intervalMs must be > 0, got ${policy.intervalMs}`);
  }
  if (!(Number.isFinite(policy.thresholdPosition) && policy.thresholdPosition >= 0)) {
    throw new RangeError(`OfferPolicy.thresholdPosition must be >= 0, got ${policy.thresholdPosition}`);
  }
}

export function decideOffer(policy: OfferPolicy, state: OfferState, ctx: OfferContext): OfferDecision {
  assertValidOfferPolicy(policy);
  if (state.accepted) return { kind: 'stop', reason: 'accepted' };
  if (state.ended) return { kind: 'stop', reason: 'ended' };
  if (policy.thresholdPosition > 0 && ctx.position <= policy.thresholdPosition) {
    return { kind: 'stop', reason: 'threshold_reached' };
  }
  if (!ctx.overflowing) return { kind: 'idle' };
  // lastOfferAt is the authority: offersMade is a counter for reporting, not for scheduling.
  const dueAt = state.lastOfferAt === null ? state.enteredAt + policy.initialDelayMs : state.lastOfferAt + policy.intervalMs;
  return ctx.now >= dueAt ? { kind: 'offer_now' } : { kind: 'wait', untilMs: dueAt };
}
