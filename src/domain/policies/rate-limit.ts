/**
 * Per caller-id rate limit on callback requests: at most `limit` requests per key in any window
 * of `windowMs` (a true sliding window, not fixed buckets, so no double burst at a bucket edge).
 *
 * - An event recorded at t counts while now < t + windowMs.
 * - Only accepted requests are recorded (tryAcquire records only when allowed): a caller who
 *   keeps trying while refused does not extend their own lockout.
 * - Memory is bounded: per key only the newest `limit` timestamps are kept (older ones can never
 *   decide anything), and at most `maxKeys` keys; past that the least recently used key is
 *   evicted (use = record). Eviction forgets that key's history: under memory pressure the
 *   limiter fails open for the longest-idle callers rather than refusing everybody.
 * - Time is passed in (epoch ms); a clock that steps backwards never throws, and retryAfterMs
 *   is capped at windowMs.
 *
 * Use the normalized E.164 number as the key so '555 123 4567' and '+15551234567' are one caller.
 * One limiter per queue makes the limit per queue.
 */

export interface RateLimitOptions {
  /** Requests allowed per window (integer >= 1). */
  limit: number;
  /** Window length in ms (> 0). */
  windowMs: number;
  /** Keys remembered at most (integer >= 1, default 10,000); least recently used evicted first. */
  maxKeys?: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** 0 when allowed; otherwise ms until one more request would be allowed. */
  retryAfterMs: number;
}

export const DEFAULT_RATE_LIMIT: Readonly<Required<RateLimitOptions>> = Object.freeze({
  limit: 3,
  windowMs: 60 * 60 * 1000,
  maxKeys: 10_000,
});

export class SlidingWindowRateLimiter {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  /** key -> ascending timestamps (at most `limit`); Map order = least recently used first. */
  private readonly events = new Map<string, number[]>();

  constructor(opts: RateLimitOptions) {
    const maxKeys = opts.maxKeys ?? DEFAULT_RATE_LIMIT.maxKeys;
    if (!(Number.isInteger(opts.limit) && opts.limit >= 1))
      throw new RangeError(`rate limit: limit must be an integer >= 1, got ${opts.limit}`);
    if (!(Number.isFinite(opts.windowMs) && opts.windowMs > 0))
      throw new RangeError(`rate limit: windowMs must be > 0, got ${opts.windowMs}`);
    if (!(Number.isInteger(maxKeys) && maxKeys >= 1)) throw new RangeError(`rate limit: maxKeys must be an integer >= 1, got ${maxKeys}`);
    this.limit = opts.limit;
    this.windowMs = opts.windowMs;
    this.maxKeys = maxKeys;
  }

  /** Number of keys currently remembered (for memory assertions and metrics). */
  get size(): number {
    return this.events.size;
  }

  /** Would a request from `key` at `now` be allowed? Records nothing. */
  check(key: string, now: number): RateLimitDecision {
    const list = this.live(key, now);
    if (list === undefined || list.length < this.limit) return { allowed: true, retryAfterMs: 0 };
    // Full: the oldest of the newest `limit` events must leave the window first.
    const retry = list[list.length - this.limit] + this.windowMs - now;
    return { allowed: false, retryAfterMs: Math.min(this.windowMs, Math.max(1, retry)) };
  }

  /** Records a request at `now` unconditionally (use after an out-of-band acceptance). */
  record(key: string, now: number): void {
    const list = this.live(key, now) ?? [];
    let i = list.length;
    while (i > 0 && list[i - 1] > now) i--; // keep ascending even if the clock stepped back
    list.splice(i, 0, now);
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    this.events.delete(key);
    this.events.set(key, list);
    while (this.events.size > this.maxKeys) {
      const oldest = this.events.keys().next();
      if (oldest.done) break;
      this.events.delete(oldest.value);
    }
  }

  /** check + record when allowed: the usual single call. */
  tryAcquire(key: string, now: number): RateLimitDecision {
    const d = this.check(key, now);
    if (d.allowed) this.record(key, now);
    return d;
  }

  /** Forgets one key (e.g. an administrator lifting a block). */
  reset(key: string): void {
    this.events.delete(key);
  }

  /** Drops every key whose events have all left the window; returns how many were dropped. */
  prune(now: number): number {
    let dropped = 0;
    for (const key of [...this.events.keys()]) {
      if (this.live(key, now) === undefined) dropped++;
    }
    return dropped;
  }

  /** The key's events still in the window at `now` (expired ones removed), or undefined. */
  private live(key: string, now: number): number[] | undefined {
    const list = this.events.get(key);
    if (list === undefined) return undefined;
    let expired = 0;
    while (expired < list.length && list[expired] + this.windowMs <= now) expired++;
    if (expired > 0) list.splice(0, expired);
    if (list.length === 0) {
      this.events.delete(key);
      return undefined;
    }
    return list;
  }
}
