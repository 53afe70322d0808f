import { digitSounds } from '../domain';
import { NumberPolicyRefusal } from '../domain/policies';
import { Logger } from '../logging/logger';
import { CallbackStore, NewCallbackRequest, StoredCallback } from '../store/callback-store';
import { PROMPTS } from './prompts';

/**
 * A callback number a caller asked for, checked against the queue's number policy (see
 * CallContext.checkCallbackNumber): what the booking statement needs to apply the two limits.
 */
export type CallbackNumberCheck =
  | { ok: true; e164: string; maxOpenElsewhere: number; requesterKey: string; rateLimit: { limit: number; windowSec: number } }
  | { ok: false; reason: string };

/**
 * "Press 1": the durable half shared by queue and direct calls. The result is known only after
 * COMMIT, and only a `stored` result may be confirmed to the caller. `refused` is one of the two
 * limits only the database can count: the number policy's open callbacks per number
 * (too_many_pending) and the queue's requests per caller (rate_limited). The booking statement
 * counts and applies both, so the caller waits on one round trip, and simultaneous requests
 * cannot all pass. `failed` includes a statement cut off by statement_timeout or lock_timeout.
 */
export type BookingResult =
  | { kind: 'stored'; callback: StoredCallback }
  | { kind: 'duplicate'; existing: StoredCallback }
  | { kind: 'refused'; reason: Extract<NumberPolicyRefusal, 'too_many_pending'> | 'rate_limited' }
  | { kind: 'failed'; error: string };

export async function bookCallback(store: CallbackStore, request: NewCallbackRequest, log: Logger): Promise<BookingResult> {
  try {
    // The name is only shown to the agent; an absurd caller name must not make the request unstorable.
    const r = await store.requestCallback(
      request.customerName && request.customerName.length > 200
        ? { ...request, customerName: request.customerName.slice(0, 200) }
        : request,
    );
    switch (r.kind) {
      case 'stored':
        return { kind: 'stored', callback: r.callback };
      case 'duplicate':
        return { kind: 'duplicate', existing: r.existing };
      case 'over_limit':
        // checkNumberPolicy's last rule, with the count the statement made.
        return { kind: 'refused', reason: 'too_many_pending' };
      case 'rate_limited':
        return { kind: 'refused', reason: 'rate_limited' };
    }
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    log.error('callback could not be stored; nothing is promised to the caller', { error });
    return { kind: 'failed', error };
  }
}

/**
 * "Thank you, we will call you back at" + the number's digits + goodbye. The digits are
 * `sound:digits/N` items so that every item honours a stop: a process restarted during the
 * read-back stops it and says it again at once (see digitSounds).
 */
export function confirmationMedia(number: string): string[] {
  return [PROMPTS.confirm, ...digitSounds(number), PROMPTS.confirmGoodbye];
}

/** A caller id we can call back (a withheld or garbage caller id cannot be offered a callback). */
export function isCallableNumber(number: string): boolean {
  return /^\+?[0-9]{3,20}$/.test(number) && !/^(anonymous|unknown)$/i.test(number);
}
