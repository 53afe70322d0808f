import { expect } from 'chai';
import { decideGuard, DEFAULT_GUARD_TIMEOUT_MS } from '../../../src/domain/policies';

const answeredAtMs = 1_000_000;
const timeoutMs = 8000;
const deadline = answeredAtMs + timeoutMs;

describe('policies/answering-machine-guard', () => {
  it('default timeout is 8 s (guard.timeoutSec)', () => {
    expect(DEFAULT_GUARD_TIMEOUT_MS).to.equal(8000);
  });

  it('waits until the deadline while nothing was pressed', () => {
    expect(decideGuard({ answeredAtMs, nowMs: answeredAtMs, timeoutMs })).to.deep.equal({ kind: 'wait', untilMs: deadline });
    expect(decideGuard({ answeredAtMs, nowMs: deadline - 1, timeoutMs })).to.deep.equal({ kind: 'wait', untilMs: deadline });
  });

  it("connects on '1' before the deadline", () => {
    expect(decideGuard({ answeredAtMs, nowMs: answeredAtMs + 500, timeoutMs, digit: '1' })).to.deep.equal({ kind: 'connect' });
    expect(decideGuard({ answeredAtMs, nowMs: deadline - 1, timeoutMs, digit: '1' })).to.deep.equal({ kind: 'connect' });
  });

  it('treats the answer as no answer at and after the deadline, even if 1 arrives then (the deadline is hard)', () => {
    expect(decideGuard({ answeredAtMs, nowMs: deadline, timeoutMs })).to.deep.equal({ kind: 'treat_as_no_answer' });
    expect(decideGuard({ answeredAtMs, nowMs: deadline, timeoutMs, digit: '1' })).to.deep.equal({ kind: 'treat_as_no_answer' });
    expect(decideGuard({ answeredAtMs, nowMs: deadline + 60_000, timeoutMs, digit: '1' })).to.deep.equal({ kind: 'treat_as_no_answer' });
  });

  it('ignores every other key (and does not extend the deadline)', () => {
    for (const digit of ['0', '2', '9', '*', '#', 'A', '11', ' 1', '', '١']) {
      expect(decideGuard({ answeredAtMs, nowMs: answeredAtMs + 7000, timeoutMs, digit }), JSON.stringify(digit)).to.deep.equal({
        kind: 'wait',
        untilMs: deadline,
      });
    }
  });

  it('rejects a timeout that is not a positive finite number', () => {
    for (const bad of [0, -1, NaN, Infinity])
      expect(() => decideGuard({ answeredAtMs, nowMs: answeredAtMs, timeoutMs: bad }), String(bad)).to.throw(RangeError, /timeoutMs/);
  });
});
