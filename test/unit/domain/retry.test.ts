import { expect } from 'chai';
import { AttemptOutcome, decideRetry, isAgentSideOutcome, RetryInput } from '../../../src/domain/retry';

const base: RetryInput = { attemptsMade: 1, maxAttempts: 3, lastAttemptEndedAt: 1_000, minGapMs: 60_000, now: 2_000, outcome: 'busy' };

describe('domain/retry decideRetry', () => {
  it('answered is done, whatever the counts', () => {
    expect(decideRetry({ ...base, outcome: 'answered', attemptsMade: 99 })).to.deep.equal({ kind: 'done' });
  });

  it('customer-side failures retry after the minimum gap from the end of the attempt', () => {
    for (const outcome of ['busy', 'no_answer', 'failed', 'congestion'] as AttemptOutcome[]) {
      expect(decideRetry({ ...base, outcome }), outcome).to.deep.equal({ kind: 'retry', notBefore: 61_000 });
    }
  });

  it('never schedules a retry in the past', () => {
    expect(decideRetry({ ...base, now: 500_000 })).to.deep.equal({ kind: 'retry', notBefore: 500_000 });
    expect(decideRetry({ ...base, minGapMs: -10 })).to.deep.equal({ kind: 'retry', notBefore: 2_000 });
  });

  it('gives up once customer attempts reach the maximum (attemptsMade includes this one)', () => {
    expect(decideRetry({ ...base, attemptsMade: 2 }).kind).to.equal('retry');
    expect(decideRetry({ ...base, attemptsMade: 3 })).to.deep.equal({ kind: 'give_up', reason: 'max_attempts_reached' });
    expect(decideRetry({ ...base, attemptsMade: 1, maxAttempts: 1, outcome: 'no_answer' })).to.deep.equal({
      kind: 'give_up',
      reason: 'max_attempts_reached',
    });
  });

  it('agent-side outcomes do not consume customer attempts and are eligible immediately', () => {
    for (const outcome of ['agent_declined', 'agent_no_answer'] as AttemptOutcome[]) {
      expect(isAgentSideOutcome(outcome)).to.equal(true);
      // Even with customer attempts exhausted, an agent decline does not end the request.
      expect(decideRetry({ ...base, outcome, attemptsMade: 3 }), outcome).to.deep.equal({ kind: 'retry', notBefore: 2_000 });
    }
    expect(isAgentSideOutcome('busy')).to.equal(false);
  });

  it('optionally caps agent-side attempts', () => {
    const input = { ...base, outcome: 'agent_no_answer' as const, maxAgentAttempts: 5 };
    expect(decideRetry({ ...input, agentAttemptsMade: 4 }).kind).to.equal('retry');
    expect(decideRetry({ ...input, agentAttemptsMade: 5 })).to.deep.equal({ kind: 'give_up', reason: 'max_agent_attempts_reached' });
    // The agent cap does not affect customer-side outcomes.
    expect(decideRetry({ ...base, maxAgentAttempts: 0, agentAttemptsMade: 10 }).kind).to.equal('retry');
  });
});
