/**
 * How long a callback request stays alive, and who may serve a callback owed on a direct call.
 *
 * Ages are measured in elapsed time (a "day" is 24 h of epoch time), not in calendar days of
 * some time zone: a request made at 10:00 the day before a DST change expires at 11:00 or 09:00
 * local 7 days later. That keeps expiry independent of where the server or queue is.
 * The boundary is inclusive: at exactly requestedAt + maxAge the request is expired.
 */

export const DEFAULT_MAX_AGE_DAYS = 7;
/** Matches direct.ownerWindowSec (7200) in src/config/config.ts. */
export const DEFAULT_OWNER_WINDOW_MS = 2 * 60 * 60 * 1000;
const DAY_MS = 86_400_000;

export const EXPIRE_OWNER_WINDOW_ELAPSED = 'owner_window_elapsed';
export const EXPIRE_MAX_AGE = 'max_age_reached';

function assertMaxAgeDays(maxAgeDays: number): void {
  if (!(maxAgeDays > 0)) throw new RangeError(`maxAgeDays must be > 0 (Infinity = never), got ${maxAgeDays}`);
}

/** The instant a request expires (Infinity when maxAgeDays is Infinity). */
export function expiryTime(requestedAtMs: number, maxAgeDays: number = DEFAULT_MAX_AGE_DAYS): number {
  assertMaxAgeDays(maxAgeDays);
  return requestedAtMs + maxAgeDays * DAY_MS;
}

export function isExpired(requestedAtMs: number, nowMs: number, maxAgeDays: number = DEFAULT_MAX_AGE_DAYS): boolean {
  return nowMs >= expiryTime(requestedAtMs, maxAgeDays);
}

export type OwedCallbackFallback = { kind: 'queue'; queueId: string } | { kind: 'expire' };

export interface OwedCallbackInput {
  requestedAtMs: number;
  nowMs: number;
  /** Only the owning agent may serve the callback before requestedAtMs + ownerWindowMs. */
  ownerWindowMs: number;
  /** What happens once the window has elapsed. */
  fallback: OwedCallbackFallback;
  /** Optional overall age limit, checked first (the request is dead whoever serves it). */
  maxAgeDays?: number;
}

export type OwedCallbackDecision =
  /** untilMs: when the owner's exclusivity ends (schedule the re-decision then). */
  { kind: 'owner_only'; untilMs: number } | { kind: 'fallback_to_queue'; queueId: string } | { kind: 'expire'; reason: string };

/**
 * A callback owed on a direct call: the owner alone within [requestedAt, requestedAt + window);
 * from the end of the window (inclusive) it goes to the fallback queue or expires.
 * ownerWindowMs 0 means "straight to the fallback". Throws RangeError on a negative/NaN window.
 */
export function decideOwedCallback(input: OwedCallbackInput): OwedCallbackDecision {
  const { requestedAtMs, nowMs, ownerWindowMs, fallback, maxAgeDays } = input;
  if (!(ownerWindowMs >= 0)) throw new RangeError(`ownerWindowMs must be >= 0, got ${ownerWindowMs}`);
  if (maxAgeDays !== undefined && isExpired(requestedAtMs, nowMs, maxAgeDays)) return { kind: 'expire', reason: EXPIRE_MAX_AGE };
  const untilMs = requestedAtMs + ownerWindowMs;
  if (nowMs < untilMs) return { kind: 'owner_only', untilMs };
  if (fallback.kind === 'queue') return { kind: 'fallback_to_queue', queueId: fallback.queueId };
  return { kind: 'expire', reason: EXPIRE_OWNER_WINDOW_ELAPSED };
}
