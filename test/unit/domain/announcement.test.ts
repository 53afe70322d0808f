import { expect } from 'chai';
import { decideAnnouncement, spokenWait, spokenWaitSec } from '../../../src/domain/announcement';
import { NO_AGENTS_WAIT_CAP_SEC } from '../../../src/domain/estimated-wait';

describe('domain/announcement', () => {
  it('spokenWait rounds as people say it', () => {
    const said = (sec: number) => {
      const w = spokenWait(sec);
      return w.kind === 'minutes' ? w.minutes : w.kind;
    };
    expect([0, 59].map(said)).to.deep.equal(['less_than_a_minute', 'less_than_a_minute']);
    expect([60, 89, 90, 222, 569].map(said)).to.deep.equal([1, 1, 2, 4, 9]);
    expect([600, 749, 750, 1740].map(said)).to.deep.equal([10, 10, 15, 30]);
    expect([1800, 2100, 3240].map(said)).to.deep.equal([30, 40, 50]);
    expect([3300, 4499].map(said)).to.deep.equal(['about_an_hour', 'about_an_hour']);
    expect([4500, NO_AGENTS_WAIT_CAP_SEC, Infinity, NaN].map(said)).to.deep.equal([
      'more_than_an_hour',
      'more_than_an_hour',
      'more_than_an_hour',
      'more_than_an_hour',
    ]);
  });

  it('spokenWaitSec gives the figure a caller heard, in seconds', () => {
    expect(spokenWaitSec(spokenWait(222))).to.equal(240);
    expect(spokenWaitSec(spokenWait(10))).to.equal(30);
  });

  it('decideAnnouncement: on entry, then every N; off when neither is set', () => {
    const policy = { onEntry: true, everyMs: 60000 };
    expect(decideAnnouncement(policy, { enteredAt: 0, lastAt: null, now: 0 })).to.deep.equal({ kind: 'now' });
    expect(decideAnnouncement(policy, { enteredAt: 0, lastAt: 100, now: 500 })).to.deep.equal({ kind: 'wait', untilMs: 60100 });
    expect(decideAnnouncement(policy, { enteredAt: 0, lastAt: 100, now: 60100 })).to.deep.equal({ kind: 'now' });
    expect(decideAnnouncement({ onEntry: false, everyMs: 30000 }, { enteredAt: 1000, lastAt: null, now: 1000 })).to.deep.equal({
      kind: 'wait',
      untilMs: 31000,
    });
    expect(decideAnnouncement({ onEntry: false, everyMs: null }, { enteredAt: 0, lastAt: null, now: 0 })).to.deep.equal({ kind: 'off' });
    expect(decideAnnouncement({ onEntry: true, everyMs: null }, { enteredAt: 0, lastAt: 5, now: 99999 })).to.deep.equal({ kind: 'off' });
  });
});
