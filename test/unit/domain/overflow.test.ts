import { expect } from 'chai';
import { evaluateOverflow, resolveOverflowRule } from '../../../src/domain/overflow';

describe('domain/overflow', () => {
  describe('resolveOverflowRule', () => {
    it('returns the queue rule when there is no override', () => {
      expect(resolveOverflowRule({ maxWaiting: 5, maxEstimatedWaitSec: 120 })).to.deep.equal({ maxWaiting: 5, maxEstimatedWaitSec: 120 });
    });

    it('returns an empty rule when neither side sets anything', () => {
      expect(resolveOverflowRule(undefined)).to.deep.equal({});
      expect(resolveOverflowRule(undefined, {})).to.deep.equal({});
    });

    it('overrides field by field, inheriting the fields the route leaves out', () => {
      expect(resolveOverflowRule({ maxWaiting: 5, maxEstimatedWaitSec: 120 }, { maxWaiting: 2 })).to.deep.equal({
        maxWaiting: 2,
        maxEstimatedWaitSec: 120,
      });
    });

    it('adds a condition the queue does not have', () => {
      expect(resolveOverflowRule({ maxWaiting: 5 }, { maxEstimatedWaitSec: 60 })).to.deep.equal({ maxWaiting: 5, maxEstimatedWaitSec: 60 });
      expect(resolveOverflowRule(undefined, { maxWaiting: 1 })).to.deep.equal({ maxWaiting: 1 });
    });

    it('null in the override disables the condition', () => {
      expect(resolveOverflowRule({ maxWaiting: 5, maxEstimatedWaitSec: 120 }, { maxWaiting: null })).to.deep.equal({
        maxEstimatedWaitSec: 120,
      });
      expect(resolveOverflowRule({ maxWaiting: 5 }, { maxWaiting: null, maxEstimatedWaitSec: null })).to.deep.equal({});
    });

    it('an explicit undefined in the override inherits (it is not the same as null)', () => {
      expect(resolveOverflowRule({ maxWaiting: 5 }, { maxWaiting: undefined })).to.deep.equal({ maxWaiting: 5 });
    });

    it('an override of 0 is kept (not mistaken for absent)', () => {
      expect(resolveOverflowRule({ maxWaiting: 5 }, { maxWaiting: 0 })).to.deep.equal({ maxWaiting: 0 });
    });
  });

  describe('evaluateOverflow', () => {
    it('an empty rule never overflows', () => {
      expect(evaluateOverflow({}, { waitingCount: 1_000, estimatedWaitSec: 1e6 })).to.deep.equal({ overflowing: false, reasons: [] });
    });

    it('uses >= for the waiting count, counting the evaluated caller', () => {
      const rule = { maxWaiting: 3 };
      // Two others waiting + this caller = 3 -> overflow.
      expect(evaluateOverflow(rule, { waitingCount: 3, estimatedWaitSec: 0 })).to.deep.equal({
        overflowing: true,
        reasons: ['waiting_count'],
      });
      expect(evaluateOverflow(rule, { waitingCount: 2, estimatedWaitSec: 0 }).overflowing).to.equal(false);
    });

    it('uses >= for the estimated wait', () => {
      const rule = { maxEstimatedWaitSec: 60 };
      expect(evaluateOverflow(rule, { waitingCount: 1, estimatedWaitSec: 60 }).reasons).to.deep.equal(['estimated_wait']);
      expect(evaluateOverflow(rule, { waitingCount: 1, estimatedWaitSec: 59.9 }).overflowing).to.equal(false);
    });

    it('reports every tripped condition, waiting_count first', () => {
      expect(evaluateOverflow({ maxWaiting: 1, maxEstimatedWaitSec: 10 }, { waitingCount: 1, estimatedWaitSec: 10 })).to.deep.equal({
        overflowing: true,
        reasons: ['waiting_count', 'estimated_wait'],
      });
      expect(
        evaluateOverflow({ maxWaiting: 10, maxEstimatedWaitSec: 10 }, { waitingCount: 1, estimatedWaitSec: 11 }).reasons,
      ).to.deep.equal(['estimated_wait']);
    });

    it('ignores non-finite thresholds instead of overflowing everything', () => {
      expect(
        evaluateOverflow(
          { maxWaiting: Number.NaN, maxEstimatedWaitSec: Number.POSITIVE_INFINITY },
          { waitingCount: 99, estimatedWaitSec: 1e9 },
        ).overflowing,
      ).to.equal(false);
    });

    it('a zero threshold means always overflow (e.g. always offer callbacks on a route)', () => {
      expect(
        evaluateOverflow(resolveOverflowRule({ maxWaiting: 10 }, { maxWaiting: 0 }), { waitingCount: 1, estimatedWaitSec: 0 }).overflowing,
      ).to.equal(true);
    });
  });
});
