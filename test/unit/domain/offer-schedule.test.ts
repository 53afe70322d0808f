import { expect } from 'chai';
import { decideOffer, DEFAULT_OFFER_POLICY, OfferPolicy, OfferState } from '../../../src/domain/offer-schedule';

const policy: OfferPolicy = { initialDelayMs: 30_000, intervalMs: 30_000, thresholdPosition: 0 };
const fresh = (over: Partial<OfferState> = {}): OfferState => ({
  enteredAt: 1_000_000,
  offersMade: 0,
  lastOfferAt: null,
  accepted: false,
  ended: false,
  ...over,
});
const T0 = 1_000_000;

describe('domain/offer-schedule decideOffer', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_OFFER_POLICY).to.deep.equal({ initialDelayMs: 30_000, intervalMs: 30_000, thresholdPosition: 0 });
  });

  it('waits for the initial delay before the first offer', () => {
    expect(decideOffer(policy, fresh(), { now: T0, position: 5, overflowing: true })).to.deep.equal({ kind: 'wait', untilMs: T0 + 30_000 });
    expect(decideOffer(policy, fresh(), { now: T0 + 29_999, position: 5, overflowing: true })).to.deep.equal({
      kind: 'wait',
      untilMs: T0 + 30_000,
    });
    expect(decideOffer(policy, fresh(), { now: T0 + 30_000, position: 5, overflowing: true })).to.deep.equal({ kind: 'offer_now' });
  });

  it('offers at once when the queue first overflows after the initial delay has passed', () => {
    expect(decideOffer(policy, fresh(), { now: T0 + 10_000, position: 5, overflowing: false })).to.deep.equal({ kind: 'idle' });
    expect(decideOffer(policy, fresh(), { now: T0 + 95_000, position: 5, overflowing: true })).to.deep.equal({ kind: 'offer_now' });
  });

  it('repeats at the interval measured from the start of the last offer', () => {
    const s = fresh({ offersMade: 1, lastOfferAt: T0 + 30_000 });
    // Even if the prompt ended at +40s, the next offer is due at +60s, not +70s.
    expect(decideOffer(policy, s, { now: T0 + 40_000, position: 5, overflowing: true })).to.deep.equal({
      kind: 'wait',
      untilMs: T0 + 60_000,
    });
    expect(decideOffer(policy, s, { now: T0 + 60_000, position: 5, overflowing: true })).to.deep.equal({ kind: 'offer_now' });
  });

  it('uses a custom interval independently of the initial delay', () => {
    const p = { ...policy, initialDelayMs: 0, intervalMs: 45_000 };
    expect(decideOffer(p, fresh(), { now: T0, position: 3, overflowing: true })).to.deep.equal({ kind: 'offer_now' });
    expect(decideOffer(p, fresh({ offersMade: 1, lastOfferAt: T0 }), { now: T0 + 1, position: 3, overflowing: true })).to.deep.equal({
      kind: 'wait',
      untilMs: T0 + 45_000,
    });
  });

  it('is idle while not overflowing, even when an offer would be due', () => {
    const s = fresh({ offersMade: 2, lastOfferAt: T0 });
    expect(decideOffer(policy, s, { now: T0 + 1e6, position: 9, overflowing: false })).to.deep.equal({ kind: 'idle' });
  });

  it('stops for accepted and ended before anything else', () => {
    const p = { ...policy, thresholdPosition: 3 };
    expect(decideOffer(p, fresh({ accepted: true, ended: true }), { now: T0, position: 1, overflowing: true })).to.deep.equal({
      kind: 'stop',
      reason: 'accepted',
    });
    expect(decideOffer(p, fresh({ ended: true }), { now: T0, position: 1, overflowing: false })).to.deep.equal({
      kind: 'stop',
      reason: 'ended',
    });
  });

  it('stops at or ahead of the threshold position, and not behind it', () => {
    const p = { ...policy, thresholdPosition: 2 };
    const ctx = { now: T0 + 30_000, overflowing: true };
    expect(decideOffer(p, fresh(), { ...ctx, position: 2 })).to.deep.equal({ kind: 'stop', reason: 'threshold_reached' });
    expect(decideOffer(p, fresh(), { ...ctx, position: 1 })).to.deep.equal({ kind: 'stop', reason: 'threshold_reached' });
    expect(decideOffer(p, fresh(), { ...ctx, position: 3 })).to.deep.equal({ kind: 'offer_now' });
    // Threshold applies even when not overflowing.
    expect(decideOffer(p, fresh(), { ...ctx, position: 1, overflowing: false })).to.deep.equal({
      kind: 'stop',
      reason: 'threshold_reached',
    });
  });

  it('threshold 0 disables the check, so position 1 can still be offered', () => {
    expect(decideOffer(policy, fresh(), { now: T0 + 30_000, position: 1, overflowing: true })).to.deep.equal({ kind: 'offer_now' });
  });

  it('schedules from lastOfferAt even if offersMade is out of step', () => {
    expect(
      decideOffer(policy, fresh({ offersMade: 3, lastOfferAt: null }), { now: T0 + 1_000, position: 5, overflowing: true }),
    ).to.deep.equal({ kind: 'wait', untilMs: T0 + 30_000 });
  });

  it('rejects policies that would spin or stall', () => {
    const ctx = { now: T0, position: 5, overflowing: true };
    expect(() => decideOffer({ ...policy, intervalMs: 0 }, fresh(), ctx)).to.throw(RangeError);
    expect(() => decideOffer({ ...policy, initialDelayMs: -1 }, fresh(), ctx)).to.throw(RangeError);
    expect(() => decideOffer({ ...policy, thresholdPosition: Number.NaN }, fresh(), ctx)).to.throw(RangeError);
  });
});
