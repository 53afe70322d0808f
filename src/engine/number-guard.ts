import { QueueConfig, numberPolicyOf } from '../config/config';
import { Clock } from '../domain';
import { checkNumberPolicy, normalizeNumber, SlidingWindowRateLimiter } from '../domain/policies';

/** A number checked against a queue's number policy: its E.164 form, or why it was refused. */
export type NumberCheck = { ok: true; e164: string; maxOpenElsewhere: number } | { ok: false; invalid: boolean; reason: string };

/**
 * The queue's number policy, every rule that needs no database. The last rule (open callbacks per
 * number) is counted by the booking statement itself, which gets `maxOpenElsewhere`: with 0 open
 * here the policy cannot refuse on it (maxPendingPerNumber >= 1).
 */
export function checkNumber(queue: QueueConfig, rawNumber: string): NumberCheck {
  const policy = numberPolicyOf(queue);
  const normal = normalizeNumber(rawNumber, policy);
  if (!normal.ok) return { ok: false, invalid: true, reason: normal.reason };
  const decision = checkNumberPolicy(normal.e164, policy, { pendingForNumber: 0 });
  if (!decision.allowed) return { ok: false, invalid: false, reason: decision.reason };
  return { ok: true, e164: normal.e164, maxOpenElsewhere: policy.maxPendingPerNumber };
}

/**
 * The toll-fraud guard for numbers callers type (a callback number) and numbers an overflow
 * action dials: the queue's number policy, and for callers the rate limit per caller id.
 */
export class NumberGuard {
  private readonly rateLimiters = new Map<string, SlidingWindowRateLimiter>();

  constructor(private readonly clock: Clock) {}

  checkTransferNumber(queue: QueueConfig, rawNumber: string): { ok: true; e164: string } | { ok: false; reason: string } {
    const check = checkNumber(queue, rawNumber);
    if (check.ok) return { ok: true, e164: check.e164 };
    return { ok: false, reason: check.invalid ? `invalid_number:${check.reason}` : check.reason };
  }

  /** An invalid number is refused before the rate limit is looked at; the policy after it. */
  checkCallbackNumber(
    queue: QueueConfig,
    rawNumber: string,
    callerId: string,
  ): { ok: true; e164: string; maxOpenElsewhere: number } | { ok: false; reason: string } {
    const check = checkNumber(queue, rawNumber);
    if (!check.ok && check.invalid) return { ok: false, reason: `invalid_number:${check.reason}` };
    if (!this.rateLimiter(queue).check(callerId || 'withheld', this.clock.now()).allowed) return { ok: false, reason: 'rate_limited' };
    if (!check.ok) return { ok: false, reason: check.reason };
    return check;
  }

  recordCallbackRequest(queue: QueueConfig, callerId: string): void {
    this.rateLimiter(queue).record(callerId || 'withheld', this.clock.now());
  }

  private rateLimiter(queue: QueueConfig): SlidingWindowRateLimiter {
    let limiter = this.rateLimiters.get(queue.id);
    if (!limiter) {
      limiter = new SlidingWindowRateLimiter({ limit: queue.rateLimit.limit, windowMs: queue.rateLimit.windowSec * 1000 });
      this.rateLimiters.set(queue.id, limiter);
    }
    return limiter;
  }
}
