import { expect } from 'chai';
import { estimateWaitSec, HandleTimeAverage, NO_AGENTS_WAIT_CAP_SEC, WaitErrorTracker } from '../../../src/domain/estimated-wait';

describe('domain/estimated-wait', () => {
  describe('estimateWaitSec', () => {
    const base = { averageHandleSec: 120, availableAgents: 0, staffedAgents: 1 };

    it('position 1 with a free agent waits 0', () => {
      expect(estimateWaitSec({ ...base, position: 1, availableAgents: 1 })).to.equal(0);
    });

    it('every position covered by free agents waits 0, the next one does not', () => {
      const input = { ...base, availableAgents: 3, staffedAgents: 5 };
      expect(estimateWaitSec({ ...input, position: 3 })).to.equal(0);
      expect(estimateWaitSec({ ...input, position: 4 })).to.equal(24); // 1 * 120 / 5
    });

    it('one agent: each position ahead adds a full handle time', () => {
      expect(estimateWaitSec({ ...base, position: 1 })).to.equal(120);
      expect(estimateWaitSec({ ...base, position: 3 })).to.equal(360);
    });

    it('parallel agents divide the wait: (p - free) * AHT / staffed, rounded up', () => {
      expect(estimateWaitSec({ ...base, position: 10, staffedAgents: 4 })).to.equal(300);
      expect(estimateWaitSec({ averageHandleSec: 100, position: 1, availableAgents: 0, staffedAgents: 3 })).to.equal(34); // 33.3 -> 34
    });

    it('grows monotonically with position', () => {
      let prev = -1;
      for (let p = 1; p <= 50; p++) {
        const w = estimateWaitSec({ ...base, position: p, staffedAgents: 7, availableAgents: 2 });
        expect(w).to.be.at.least(prev);
        prev = w;
      }
    });

    it('no staffed agents returns the finite cap', () => {
      expect(estimateWaitSec({ ...base, position: 1, staffedAgents: 0 })).to.equal(NO_AGENTS_WAIT_CAP_SEC);
      expect(Number.isFinite(NO_AGENTS_WAIT_CAP_SEC)).to.equal(true);
    });

    it('caps huge estimates at the same cap', () => {
      expect(estimateWaitSec({ ...base, position: 1e9, averageHandleSec: 1e6 })).to.equal(NO_AGENTS_WAIT_CAP_SEC);
    });

    it('tolerates inconsistent or invalid live data', () => {
      // More free than staffed: free agents are staffed, so the free count wins.
      expect(estimateWaitSec({ ...base, position: 2, availableAgents: 2, staffedAgents: 0 })).to.equal(0);
      expect(estimateWaitSec({ ...base, position: 3, availableAgents: 2, staffedAgents: 0 })).to.equal(60);
      // Position below 1 is treated as the head.
      expect(estimateWaitSec({ ...base, position: 0 })).to.equal(120);
      // Negative / NaN handle time cannot produce a negative wait.
      expect(estimateWaitSec({ ...base, position: 2, averageHandleSec: -5 })).to.equal(0);
      expect(estimateWaitSec({ ...base, position: 2, averageHandleSec: Number.NaN })).to.equal(0);
    });
  });

  describe('HandleTimeAverage', () => {
    it('reports the cold-start value until minSamples samples exist', () => {
      const h = new HandleTimeAverage({ coldStartSec: 180, minSamples: 3 });
      expect(h.averageSec()).to.equal(180);
      h.record(60);
      h.record(60);
      expect(h.averageSec()).to.equal(180);
      h.record(60);
      expect(h.averageSec()).to.equal(60);
      expect(h.sampleCount).to.equal(3);
    });

    it('is an EWMA seeded with the first sample (default alpha 0.2)', () => {
      const h = new HandleTimeAverage({ coldStartSec: 0, minSamples: 1 });
      h.record(100);
      expect(h.averageSec()).to.equal(100);
      h.record(200);
      expect(h.averageSec()).to.be.closeTo(120, 1e-9); // 0.2*200 + 0.8*100
      h.record(0);
      expect(h.averageSec()).to.be.closeTo(96, 1e-9);
    });

    it('honours a custom alpha; alpha 1 tracks the last sample', () => {
      const h = new HandleTimeAverage({ coldStartSec: 0, alpha: 1, minSamples: 1 });
      h.record(10);
      h.record(90);
      expect(h.averageSec()).to.equal(90);
    });

    it('drops invalid samples without counting them', () => {
      const h = new HandleTimeAverage({ coldStartSec: 30, minSamples: 1 });
      h.record(-1);
      h.record(Number.NaN);
      h.record(Number.POSITIVE_INFINITY);
      expect(h.sampleCount).to.equal(0);
      expect(h.averageSec()).to.equal(30);
    });

    it('rejects invalid options', () => {
      expect(() => new HandleTimeAverage({ coldStartSec: 10, alpha: 0 })).to.throw(RangeError);
      expect(() => new HandleTimeAverage({ coldStartSec: 10, alpha: 1.5 })).to.throw(RangeError);
      expect(() => new HandleTimeAverage({ coldStartSec: -1 })).to.throw(RangeError);
    });
  });

  describe('WaitErrorTracker', () => {
    it('reports undefined with no data (not a perfect 0)', () => {
      const t = new WaitErrorTracker();
      expect(t.meanAbsoluteErrorSec()).to.equal(undefined);
      expect(t.meanBiasSec()).to.equal(undefined);
      expect(t.count).to.equal(0);
    });

    it('computes mean absolute error and signed bias', () => {
      const t = new WaitErrorTracker();
      t.record(60, 30); // +30
      t.record(10, 40); // -30
      t.record(20, 20); // 0
      expect(t.meanAbsoluteErrorSec()).to.equal(20);
      expect(t.meanBiasSec()).to.equal(0);
      expect(t.count).to.equal(3);
    });

    it('keeps only the last N pairs with a window', () => {
      const t = new WaitErrorTracker({ window: 2 });
      t.record(100, 0); // dropped later
      t.record(10, 0);
      t.record(0, 20);
      expect(t.count).to.equal(2);
      expect(t.meanAbsoluteErrorSec()).to.equal(15);
      expect(t.meanBiasSec()).to.equal(-5);
      t.record(5, 0); // evicts the 10
      expect(t.meanAbsoluteErrorSec()).to.equal(12.5);
    });

    it('ignores non-finite pairs and rejects a zero window', () => {
      const t = new WaitErrorTracker();
      t.record(Number.NaN, 1);
      expect(t.count).to.equal(0);
      expect(() => new WaitErrorTracker({ window: 0 })).to.throw(RangeError);
    });
  });
});
