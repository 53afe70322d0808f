/**
 * What happens after a callback dial attempt ends.
 *
 * Customer-side outcomes (busy, no_answer, failed, congestion) consume the customer's attempts:
 * `attemptsMade` counts customer dial attempts that have ended, INCLUDING the one that just
 * ended. When attemptsMade >= maxAttempts the request is given up; otherwise the next attempt is
 * not before lastAttemptEndedAt + minGapMs, so the customer is not redialled in a tight loop.
 *
 * Agent-side outcomes (agent_declined, agent_no_answer) happen before the customer is dialled
 * (agent-first callbacks), so the customer was never bothered: they do not consume attempts and
 * the callback is immediately eligible again (notBefore = now); dispatch keeps that agent away
 * through its decline window. To stop a callback that no agent ever takes from cycling forever,
 * pass agentAttemptsMade / maxAgentAttempts (both optional).
 *
 * 'answered' means the callback happened: done.
 */
export type AttemptOutcome = 'busy' | 'no_answer' | 'failed' | 'congestion' | 'answered' | 'agent_declined' | 'agent_no_answer';

export interface RetryInput {
  attemptsMade: number;
  maxAttempts: number;
  lastAttemptEndedAt: number;
  minGapMs: number;
  now: number;
  outcome: AttemptOutcome;
  /** Agent-side attempts ended so far, including this one when it was agent-side. */
  agentAttemptsMade?: number;
  /** Give up after this many agent-side attempts; unlimited when absent. */
  maxAgentAttempts?: number;
}

export type RetryDecision = { kind: 'done' } | { kind: 'retry'; notBefore: number } | { kind: 'give_up'; reason: string };

export const GIVE_UP_MAX_ATTEMPTS = 'max_attempts_reached';
export const GIVE_UP_MAX_AGENT_ATTEMPTS = 'max_agent_attempts_reached';

export function isAgentSideOutcome(outcome: AttemptOutcome): boolean {
  return outcome === 'agent_declined' || outcome === 'agent_no_answer';
}

export function decideRetry(input: RetryInput): RetryDecision {
  if (input.outcome === 'answered') return { kind: 'done' };
  if (isAgentSideOutcome(input.outcome)) {
    if (input.maxAgentAttempts !== undefined && (input.agentAttemptsMade ?? 0) >= input.maxAgentAttempts) {
      return { kind: 'give_up', reason: GIVE_UP_MAX_AGENT_ATTEMPTS };
    }
    return { kind: 'retry', notBefore: input.now };
  }
  if (input.attemptsMade >= input.maxAttempts) return { kind: 'give_up', reason: GIVE_UP_MAX_ATTEMPTS };
  // Never in the past: if the gap has already elapsed the retry is due now.
  return { kind: 'retry', notBefore: Math.max(input.now, input.lastAttemptEndedAt + Math.max(0, input.minGapMs)) };
}
