import { expect } from 'chai';
import { HeldRamp, HeldStepOutcome } from '../../../tools/bench/held-ramp';

/** The held-callers verdict of `npm run bench -- --asterisk`, step by step. */
describe('bench: the held-callers ramp on the real Asterisk', () => {
  const pass = (target: number, cpu = 10): HeldStepOutcome => ({
    target,
    passed: true,
    failed: false,
    why: '',
    allHeld: true,
    pluginCpuMsPerHeldCallerMin: cpu,
    asteriskCpuMsPerHeldCallerMin: cpu * 30,
  });
  const slow = (target: number): HeldStepOutcome => ({ ...pass(target, 12), passed: false, why: `ratio 2.5 > 2 at ${target} held` });
  const failing = (target: number): HeldStepOutcome => ({
    ...pass(target),
    passed: false,
    failed: true,
    allHeld: false,
    why: `3 calls failed at ${target} held`,
  });

  /** Runs the ramp the bench's way: each step asked of next(), its outcome from `outcomes`. */
  function run(ramp: HeldRamp, outcomes: (target: number) => HeldStepOutcome): number[] {
    const asked: number[] = [];
    for (let t = ramp.next(); t !== undefined; t = ramp.next()) {
      asked.push(t);
      ramp.record(outcomes(t));
    }
    return asked;
  }

  it('every step passes: the cap is held_callers_max, and the bound says it was not reached', () => {
    const ramp = new HeldRamp(100, 300);
    expect(run(ramp, (t) => pass(t, t / 10))).to.deep.equal([100, 200, 300]);
    const r = ramp.result();
    expect(r).to.include({ heldMax: 300, heldMaxNoFailures: 300, pluginCpuMsPerHeldCallerMin: 30, asteriskCpuMsPerHeldCallerMin: 900 });
    expect(r.bound).to.match(/^not reached: every step up to the cap of 300 passed/);
    expect(r.failureBound).to.match(/^not reached: no call failed/);
  });

  it('a step over the ratio ends held_callers_max there, but the ramp goes on to the first failure', () => {
    const ramp = new HeldRamp(100, 500);
    const asked = run(ramp, (t) => (t === 200 ? slow(t) : t === 400 ? failing(t) : pass(t)));
    expect(asked, 'steps run').to.deep.equal([100, 200, 300, 400]);
    const r = ramp.result();
    expect(r.heldMax, 'a later passing step does not count after a slow one').to.equal(100);
    expect(r.heldMaxNoFailures).to.equal(300);
    expect(r.bound).to.equal('ratio 2.5 > 2 at 200 held');
    expect(r.failureBound).to.equal('3 calls failed at 400 held');
    expect(r.pluginCpuMsPerHeldCallerMin, 'from the largest step whose callers were all held').to.equal(10);
  });

  it('the first step failing: nothing held, both bounds from it', () => {
    const ramp = new HeldRamp(10, 20);
    expect(run(ramp, failing)).to.deep.equal([10]);
    expect(ramp.result()).to.include({
      heldMax: 0,
      heldMaxNoFailures: 0,
      bound: '3 calls failed at 10 held',
      failureBound: '3 calls failed at 10 held',
    });
    expect(Number.isNaN(ramp.result().pluginCpuMsPerHeldCallerMin)).to.equal(true);
  });

  it('a step and a cap that make no ramp are refused', () => {
    expect(() => new HeldRamp(0, 10)).to.throw(/step 0/);
    expect(() => new HeldRamp(20, 10)).to.throw(/at least one step/);
  });
});
