import { expect } from 'chai';
import { OFFICE_DAY, replayDay } from '../../../tools/bench/wait-accuracy';

/** The replayed day behind the README's announced-wait error figures (`npm run bench`). */
describe('bench/wait-accuracy: a replayed day of calls through the wait model', () => {
  it('is reproducible for a seed and measures every call', () => {
    const a = replayDay();
    expect(replayDay()).to.deep.equal(a);
    expect(a.calls).to.be.above(300);
    expect(a.announced_within_half).to.be.within(0, 1);
    expect(a.estimate_mae_sec).to.be.at.least(0);
    expect(replayDay({ ...OFFICE_DAY, seed: 7 })).to.not.deep.equal(a);
  });

  it('more agents for the same calls: shorter waits, and the estimate follows them', () => {
    const four = replayDay();
    const six = replayDay({ ...OFFICE_DAY, agents: 6 });
    expect(six.calls).to.equal(four.calls);
    expect(six.actual_wait_max_sec).to.be.below(four.actual_wait_max_sec);
    expect(six.estimate_mae_sec).to.be.below(four.estimate_mae_sec);
  });
});
