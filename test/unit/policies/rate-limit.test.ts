import { expect } from 'chai';
import { DEFAULT_RATE_LIMIT, SlidingWindowRateLimiter } from '../../../src/domain/policies';

const MIN = 60_000;

describe('policies/rate-limit', () => {
  it('defaults: 3 requests per caller per hour, 10,000 callers remembered', () => {
    expect(DEFAULT_RATE_LIMIT).to.deep.equal({ limit: 3, windowMs: 60 * MIN, maxKeys: 10_000 });
  });

  it('allows `limit` requests in a window, then refuses with the time until the oldest leaves', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 3, windowMs: 60 * MIN });
    expect(rl.tryAcquire('+15551234567', 0)).to.deep.equal({ allowed: true, retryAfterMs: 0 });
    expect(rl.tryAcquire('+15551234567', 10 * MIN)).to.deep.equal({ allowed: true, retryAfterMs: 0 });
    expect(rl.tryAcquire('+15551234567', 20 * MIN)).to.deep.equal({ allowed: true, retryAfterMs: 0 });
    expect(rl.tryAcquire('+15551234567', 30 * MIN)).to.deep.equal({ allowed: false, retryAfterMs: 30 * MIN });
    // The window slides: just before the first event leaves, still refused; at the boundary, allowed.
    expect(rl.tryAcquire('+15551234567', 60 * MIN - 1)).to.deep.equal({ allowed: false, retryAfterMs: 1 });
    expect(rl.tryAcquire('+15551234567', 60 * MIN)).to.deep.equal({ allowed: true, retryAfterMs: 0 });
    // Now the events are 10, 20, 60 min: the next slot frees at 70 min.
    expect(rl.check('+15551234567', 61 * MIN)).to.deep.equal({ allowed: false, retryAfterMs: 9 * MIN });
  });

  it('is a sliding window, not fixed buckets: no double burst around a bucket edge', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 2, windowMs: 60 * MIN });
    expect(rl.tryAcquire('k', 59 * MIN).allowed).to.equal(true);
    expect(rl.tryAcquire('k', 59 * MIN + 1).allowed).to.equal(true);
    expect(rl.tryAcquire('k', 61 * MIN).allowed).to.equal(false);
    expect(rl.tryAcquire('k', 119 * MIN).allowed).to.equal(true);
  });

  it('keys are independent', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 1, windowMs: MIN });
    expect(rl.tryAcquire('a', 0).allowed).to.equal(true);
    expect(rl.tryAcquire('a', 1).allowed).to.equal(false);
    expect(rl.tryAcquire('b', 1).allowed).to.equal(true);
  });

  it('refused requests are not recorded, so hammering does not extend the lockout', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 1, windowMs: MIN });
    rl.tryAcquire('k', 0);
    for (let t = 1; t < MIN; t += 1000) expect(rl.tryAcquire('k', t).allowed).to.equal(false);
    expect(rl.tryAcquire('k', MIN).allowed).to.equal(true);
  });

  it('check never records; record always does', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 1, windowMs: MIN });
    for (let i = 0; i < 5; i++) expect(rl.check('k', i).allowed).to.equal(true);
    expect(rl.size).to.equal(0);
    rl.record('k', 10);
    rl.record('k', 20); // recorded even though over the limit (out-of-band acceptance)
    expect(rl.check('k', 30)).to.deep.equal({ allowed: false, retryAfterMs: MIN - 10 });
    expect(rl.check('k', MIN + 20).allowed).to.equal(true);
  });

  it('bounds memory: at most maxKeys keys, the least recently used evicted first', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 1, windowMs: 60 * MIN, maxKeys: 3 });
    rl.tryAcquire('a', 0);
    rl.tryAcquire('b', 1);
    rl.tryAcquire('c', 2);
    rl.record('a', 3); // touch 'a': 'b' is now the least recently used
    rl.tryAcquire('d', 4);
    expect(rl.size).to.equal(3);
    expect(rl.check('a', 5).allowed).to.equal(false);
    expect(rl.check('b', 5).allowed, 'b was evicted and forgotten (fails open)').to.equal(true);
    expect(rl.check('c', 5).allowed).to.equal(false);
    expect(rl.check('d', 5).allowed).to.equal(false);
    for (let i = 0; i < 10_000; i++) rl.tryAcquire(`k${i}`, 10 + i);
    expect(rl.size).to.equal(3);
  });

  it('keeps at most `limit` timestamps per key however often record is called', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 2, windowMs: 1000 });
    for (let t = 0; t < 100; t++) rl.record('k', t);
    // Only the newest two (98, 99) matter: free again at 1098.
    expect(rl.check('k', 1097)).to.deep.equal({ allowed: false, retryAfterMs: 1 });
    expect(rl.check('k', 1098).allowed).to.equal(true);
  });

  it('prune and reset forget keys', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 1, windowMs: 1000 });
    rl.record('old', 0);
    rl.record('new', 900);
    expect(rl.prune(1500)).to.equal(1);
    expect(rl.size).to.equal(1);
    rl.reset('new');
    expect(rl.check('new', 1500).allowed).to.equal(true);
    expect(rl.size).to.equal(0);
  });

  it('survives a clock stepping backwards: events still count, retryAfter never exceeds the window', () => {
    const rl = new SlidingWindowRateLimiter({ limit: 1, windowMs: 1000 });
    rl.record('k', 5000);
    const d = rl.check('k', 3000);
    expect(d.allowed).to.equal(false);
    expect(d.retryAfterMs).to.equal(1000);
    rl.record('k', 4000); // out of order: kept sorted, the newest (5000) is what remains
    expect(rl.check('k', 5999).allowed).to.equal(false);
    expect(rl.check('k', 6000).allowed).to.equal(true);
  });

  it('rejects nonsensical options', () => {
    expect(() => new SlidingWindowRateLimiter({ limit: 0, windowMs: 1 })).to.throw(RangeError, /limit/);
    expect(() => new SlidingWindowRateLimiter({ limit: 1.5, windowMs: 1 })).to.throw(RangeError, /limit/);
    expect(() => new SlidingWindowRateLimiter({ limit: 1, windowMs: 0 })).to.throw(RangeError, /windowMs/);
    expect(() => new SlidingWindowRateLimiter({ limit: 1, windowMs: Infinity })).to.throw(RangeError, /windowMs/);
    expect(() => new SlidingWindowRateLimiter({ limit: 1, windowMs: 1, maxKeys: 0 })).to.throw(RangeError, /maxKeys/);
  });
});
