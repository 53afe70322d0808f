import { expect } from 'chai';
import { isHeldBySourceCall, SOURCE_CALL_BOUND_MS, SourceCallHolds, SourcedCallback } from '../../../src/domain/source-call-hold';

const booked = (over: Partial<SourcedCallback> = {}): SourcedCallback => ({
  id: 'cb1',
  sourceChannelId: 'caller-1',
  requestedAt: 1_000,
  sourceCallEnded: false,
  pending: true,
  ...over,
});

describe('domain/source-call-hold: a callback waits for the call that booked it', () => {
  it('isHeldBySourceCall: held while the call is up here, however long; unknown: until the bound after the booking', () => {
    expect(isHeldBySourceCall('up', 1_000, 1_000 + 10 * SOURCE_CALL_BOUND_MS)).to.equal(true);
    expect(isHeldBySourceCall('unknown', 1_000, 1_000 + SOURCE_CALL_BOUND_MS - 1)).to.equal(true);
    expect(isHeldBySourceCall('unknown', 1_000, 1_000 + SOURCE_CALL_BOUND_MS)).to.equal(false);
    expect(isHeldBySourceCall('unknown', 1_000, 1_500, 400)).to.equal(false);
  });

  it('a booking on a call that is up is held until that call ends, then released with its id', () => {
    const holds = new SourceCallHolds();
    holds.track(booked());
    expect(holds.sourceUp('caller-1')).to.equal(true);
    expect(holds.held(1_000 + 5 * SOURCE_CALL_BOUND_MS), 'up: the bound does not release it').to.deep.equal(['cb1']);
    expect(holds.sourceEnded('other-channel')).to.deep.equal([]);
    expect(holds.sourceEnded('caller-1')).to.deep.equal(['cb1']);
    expect(holds.held(1_001)).to.deep.equal([]);
    expect(holds.size).to.equal(0);
  });

  it('a booking whose call is not known here (another instance, a restart) waits out the bound, then is dropped', () => {
    const holds = new SourceCallHolds(10_000);
    holds.track(booked({ requestedAt: 50_000 }));
    expect(holds.held(59_999)).to.deep.equal(['cb1']);
    expect(holds.held(60_000)).to.deep.equal([]);
    expect(holds.size, 'dropped once the bound passed').to.equal(0);
    // Seen up later (a replay after a restart) is too late to hold a dropped one again: nothing to mark.
    expect(holds.sourceUp('caller-1')).to.equal(false);
  });

  it('a call seen up again after the bound passed keeps its callback held (the restarted process replays the confirmation)', () => {
    const holds = new SourceCallHolds(10_000);
    holds.track(booked({ requestedAt: 0 }));
    holds.sourceUp('caller-1');
    expect(holds.held(30_000)).to.deep.equal(['cb1']);
    expect(holds.sourceEnded('caller-1')).to.deep.equal(['cb1']);
  });

  it('nothing is held for an API callback, a recorded end, one already in progress, or twice', () => {
    const holds = new SourceCallHolds();
    holds.track(booked({ id: 'api', sourceChannelId: null }));
    holds.track(booked({ id: 'ended', sourceCallEnded: true }));
    holds.track(booked({ id: 'dialling', pending: false }));
    expect(holds.size).to.equal(0);
    holds.track(booked());
    holds.track(booked({ requestedAt: 0 }));
    expect(holds.size).to.equal(1);
    expect(holds.held(1_000 + SOURCE_CALL_BOUND_MS - 1), 'the first booking time counts').to.deep.equal(['cb1']);
  });

  it('release: the row says the call ended, or the callback left the queue', () => {
    const holds = new SourceCallHolds();
    holds.track(booked());
    holds.track(booked({ id: 'cb2' }));
    holds.release('cb1');
    expect(holds.held(1_000)).to.deep.equal(['cb2']);
    expect(holds.sourceEnded('caller-1')).to.deep.equal(['cb2']);
  });
  it('holdFor: a callback found already booked waits while the call that found it is up, past the bound, until that call ends', () => {
    const holds = new SourceCallHolds(10_000);
    // Booked long ago on another call whose end is recorded: nothing holds it any more.
    holds.track(booked({ id: 'old', sourceCallEnded: true }));
    expect(holds.held(0)).to.deep.equal([]);
    holds.holdFor('old', 'caller-2', 100_000);
    expect(holds.held(100_000 + 60_000), 'held however long the call lasts').to.deep.equal(['old']);
    expect(holds.sourceEnded('caller-1'), 'another call ending releases nothing').to.deep.equal([]);
    expect(holds.sourceEnded('caller-2')).to.deep.equal(['old']);
    expect(holds.held(200_000)).to.deep.equal([]);
  });
});
