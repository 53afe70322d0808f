import { QueueConfig, numberPolicyOf } from '../config/config';
import { isWithheld } from '../domain';
import { checkNumberPolicy, normalizeNumber } from '../domain/policies';
import { CallbackNumberCheck } from '../calls/callback-booking';

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
 * Whose requests the queue's rate limit counts (`queue.rateLimit`, counted by the booking
 * statement on the stored rows). The caller id in its E.164 form under the queue's number plan,
 * so that '5551234567' and '+15551234567' are one caller. A withheld or unusable caller id says
 * nothing about who calls, and one bucket for all of them would let a few refuse every other
 * withheld caller: those are counted per number typed (the callback's own number), per queue.
 */
export function requesterKeyOf(queue: QueueConfig, callerId: string, callbackE164: string): string {
  const caller = isWithheld(callerId) ? undefined : normalizeNumber(callerId, numberPolicyOf(queue));
  return caller?.ok ? `caller:${caller.e164}` : `typed:${callbackE164}`;
}

/**
 * The toll-fraud guard for numbers callers type (a callback number) and numbers an overflow
 * action dials: the queue's number policy. The two limits that need counting (open callbacks per
 * number, requests per caller) are not decided here: the booking statement counts and enforces
 * them under the requester's and the number's locks, so that simultaneous requests cannot all
 * pass a check made before any of them was written.
 */
export class NumberGuard {
  checkTransferNumber(queue: QueueConfig, rawNumber: string): { ok: true; e164: string } | { ok: false; reason: string } {
    const check = checkNumber(queue, rawNumber);
    if (check.ok) return { ok: true, e164: check.e164 };
    return { ok: false, reason: check.invalid ? `invalid_number:${check.reason}` : check.reason };
  }

  checkCallbackNumber(queue: QueueConfig, rawNumber: string, callerId: string): CallbackNumberCheck {
    const check = checkNumber(queue, rawNumber);
    if (!check.ok) return { ok: false, reason: check.invalid ? `invalid_number:${check.reason}` : check.reason };
    return {
      ok: true,
      e164: check.e164,
      maxOpenElsewhere: check.maxOpenElsewhere,
      requesterKey: requesterKeyOf(queue, callerId, check.e164),
      rateLimit: { limit: queue.rateLimit.limit, windowSec: queue.rateLimit.windowSec },
    };
  }
}
