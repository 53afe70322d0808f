import { expect } from 'chai';
import {
  decideOwedCallback,
  DEFAULT_MAX_AGE_DAYS,
  DEFAULT_OWNER_WINDOW_MS,
  EXPIRE_MAX_AGE,
  EXPIRE_OWNER_WINDOW_ELAPSED,
  expiryTime,
  isExpired,
} from '../../../src/domain/policies';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.parse('2024-03-28T10:00:00Z'); // spans the Paris/London DST change: ages are elapsed time

describe('policies/expiry', () => {
  describe('isExpired / expiryTime', () => {
    it('defaults to 7 days of elapsed time, boundary inclusive', () => {
      expect(DEFAULT_MAX_AGE_DAYS).to.equal(7);
      expect(expiryTime(T0)).to.equal(T0 + 7 * DAY);
      expect(isExpired(T0, T0)).to.equal(false);
      expect(isExpired(T0, T0 + 7 * DAY - 1)).to.equal(false);
      expect(isExpired(T0, T0 + 7 * DAY)).to.equal(true);
    });

    it('honours a per-queue max age, including fractions of a day and Infinity (never)', () => {
      expect(isExpired(T0, T0 + DAY, 1)).to.equal(true);
      expect(isExpired(T0, T0 + DAY - 1, 1)).to.equal(false);
      expect(expiryTime(T0, 0.5)).to.equal(T0 + 12 * HOUR);
      expect(isExpired(T0, T0 + 3650 * DAY, Infinity)).to.equal(false);
      expect(expiryTime(T0, Infinity)).to.equal(Infinity);
    });

    it('a request from the future (clock skew) is not expired', () => {
      expect(isExpired(T0 + HOUR, T0)).to.equal(false);
    });

    it('rejects a non-positive or NaN max age', () => {
      for (const bad of [0, -1, NaN]) {
        expect(() => isExpired(T0, T0, bad), String(bad)).to.throw(RangeError, /maxAgeDays/);
        expect(() => expiryTime(T0, bad), String(bad)).to.throw(RangeError, /maxAgeDays/);
      }
    });
  });

  describe('decideOwedCallback', () => {
    const toQueue = { kind: 'queue', queueId: 'sales' } as const;
    const expire = { kind: 'expire' } as const;

    it('default owner window is 2 h (direct.ownerWindowSec)', () => {
      expect(DEFAULT_OWNER_WINDOW_MS).to.equal(2 * HOUR);
    });

    it('owner only within the window, with the instant it ends', () => {
      expect(decideOwedCallback({ requestedAtMs: T0, nowMs: T0, ownerWindowMs: 2 * HOUR, fallback: toQueue })).to.deep.equal({
        kind: 'owner_only',
        untilMs: T0 + 2 * HOUR,
      });
      expect(decideOwedCallback({ requestedAtMs: T0, nowMs: T0 + 2 * HOUR - 1, ownerWindowMs: 2 * HOUR, fallback: expire })).to.deep.equal({
        kind: 'owner_only',
        untilMs: T0 + 2 * HOUR,
      });
    });

    it('from the end of the window: the fallback queue, or expiry', () => {
      expect(decideOwedCallback({ requestedAtMs: T0, nowMs: T0 + 2 * HOUR, ownerWindowMs: 2 * HOUR, fallback: toQueue })).to.deep.equal({
        kind: 'fallback_to_queue',
        queueId: 'sales',
      });
      expect(decideOwedCallback({ requestedAtMs: T0, nowMs: T0 + 2 * HOUR, ownerWindowMs: 2 * HOUR, fallback: expire })).to.deep.equal({
        kind: 'expire',
        reason: EXPIRE_OWNER_WINDOW_ELAPSED,
      });
    });

    it('a zero window goes straight to the fallback', () => {
      expect(decideOwedCallback({ requestedAtMs: T0, nowMs: T0, ownerWindowMs: 0, fallback: toQueue })).to.deep.equal({
        kind: 'fallback_to_queue',
        queueId: 'sales',
      });
    });

    it('the optional max age wins over everything, even inside the owner window', () => {
      expect(
        decideOwedCallback({ requestedAtMs: T0, nowMs: T0 + 8 * DAY, ownerWindowMs: 2 * HOUR, fallback: toQueue, maxAgeDays: 7 }),
      ).to.deep.equal({ kind: 'expire', reason: EXPIRE_MAX_AGE });
      expect(
        decideOwedCallback({ requestedAtMs: T0, nowMs: T0 + HOUR, ownerWindowMs: 30 * DAY, fallback: toQueue, maxAgeDays: 1 / 48 }),
      ).to.deep.equal({ kind: 'expire', reason: EXPIRE_MAX_AGE });
      expect(
        decideOwedCallback({ requestedAtMs: T0, nowMs: T0 + 6 * DAY, ownerWindowMs: 2 * HOUR, fallback: toQueue, maxAgeDays: 7 }),
      ).to.deep.equal({ kind: 'fallback_to_queue', queueId: 'sales' });
    });

    it('rejects a negative or NaN window', () => {
      expect(() => decideOwedCallback({ requestedAtMs: T0, nowMs: T0, ownerWindowMs: -1, fallback: expire })).to.throw(
        RangeError,
        /ownerWindowMs/,
      );
      expect(() => decideOwedCallback({ requestedAtMs: T0, nowMs: T0, ownerWindowMs: NaN, fallback: expire })).to.throw(
        RangeError,
        /ownerWindowMs/,
      );
    });
  });
});
