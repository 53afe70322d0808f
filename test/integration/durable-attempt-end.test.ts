import { expect } from 'chai';
import { Writable } from 'node:stream';
import { CallContext } from '../../src/calls/call-context';
import { concludeAttempt, LeaseKeeper } from '../../src/calls/callback-attempt';
import { QueueConfig } from '../../src/config/config';
import { systemClock } from '../../src/domain/clock';
import { createLogger } from '../../src/logging/logger';
import { CallbackStore, Claim } from '../../src/store/callback-store';
import { callbackRequest } from '../helpers/callback-request';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { cutDatabase, restoreDatabase } from '../helpers/database-faults';

/**
 * Issue 18 (fuzzer, state_outlives_call): a database cut at the end of a callback attempt lost
 * its end (the row stayed in_progress), the lease ran out, and a new claim dialled the customer
 * again past max_attempts. The end is now written until stored by its owner only, and a reclaim
 * never dials past the maximum.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('durable attempt end (real PostgreSQL)', function () {
  this.timeout(30000);
  let t: TestDatabase;
  let store: CallbackStore;

  before(async () => {
    t = await freshDatabase();
    store = new CallbackStore(t.db);
  });
  after(async () => {
    await restoreDatabase(t.scratch.name).catch(() => undefined);
    await t.close();
  });
  beforeEach(async () => {
    await t.db.raw('TRUNCATE callback_events, callback_attempts, callback_requests RESTART IDENTITY CASCADE');
  });

  async function claimed(maxAttempts: number, instanceId = 'me', leaseMs = 60000, now = new Date()): Promise<Claim> {
    const r = await store.requestCallback(callbackRequest({ maxAttempts, customerNumber: '+15550001111' }));
    if (r.kind !== 'stored') throw new Error('not stored');
    const c = await store.claim({ callbackId: r.callback.id, instanceId, agentId: 'a1', agentChannelId: 'ag-1', leaseMs, now });
    if (!c) throw new Error('not claimed');
    await store.markAttempt(c.attempt.id, c.callback.id, 'customer_dialled', { customerChannelId: 'cu-1', now });
    return c;
  }

  it('a stale owner (lease ran out, claimed again by another instance) changes nothing of the callback', async () => {
    const t0 = new Date(Date.now() - 120_000);
    const first = await claimed(3, 'me', 1000, t0);
    const again = await store.claim({
      callbackId: first.callback.id,
      instanceId: 'other',
      agentId: 'a2',
      agentChannelId: 'ag-2',
      leaseMs: 60000,
      now: new Date(),
    });
    expect(again?.attempt.attemptNo).to.equal(2);
    expect(await store.renewLease(first.callback.id, 'me', 3000, new Date(), first.attempt.attemptNo)).to.equal(false);
    const late = await store.finishOwnedAttempt({
      attemptId: first.attempt.id,
      callbackId: first.callback.id,
      outcome: 'no_answer',
      nextStatus: 'pending',
      countsAsAttempt: true,
      now: new Date(),
      owner: { instanceId: 'me', attemptNo: first.attempt.attemptNo },
    });
    expect(late.owned).to.equal(false);
    expect(late.callback.status).to.equal('in_progress');
    expect(late.callback.claimedBy).to.equal('other');
    // Counted once, by the reclaim (it had dialled the customer), not again by the stale end.
    expect(late.callback.attempts).to.equal(1);
  });

  it('the same instance claiming again is a new owner too: the older attempt cannot renew or finish it', async () => {
    const t0 = new Date(Date.now() - 120_000);
    const first = await claimed(3, 'me', 1000, t0);
    const again = await store.claim({
      callbackId: first.callback.id,
      instanceId: 'me',
      agentId: 'a1',
      agentChannelId: 'ag-3',
      leaseMs: 60000,
      now: new Date(),
    });
    expect(again).to.not.equal(null);
    expect(await store.renewLease(first.callback.id, 'me', 3000, new Date(), first.attempt.attemptNo)).to.equal(false);
    expect(await store.renewLease(first.callback.id, 'me', 3000, new Date(), again!.attempt.attemptNo)).to.equal(true);
    const late = await store.finishOwnedAttempt({
      attemptId: first.attempt.id,
      callbackId: first.callback.id,
      outcome: 'busy',
      nextStatus: 'failed',
      countsAsAttempt: true,
      now: new Date(),
      owner: { instanceId: 'me', attemptNo: first.attempt.attemptNo },
    });
    expect(late.owned).to.equal(false);
    expect((await store.get(first.callback.id))?.status).to.equal('in_progress');
  });

  it('an attempt that dialled the customer and whose end was never written counts: at the maximum a reclaim fails it, never dials', async () => {
    const first = await claimed(1, 'lost', 1000, new Date(Date.now() - 120_000));
    const again = await store.claim({
      callbackId: first.callback.id,
      instanceId: 'me',
      agentId: 'a1',
      agentChannelId: 'ag-2',
      leaseMs: 60000,
      now: new Date(),
    });
    expect(again).to.equal(null);
    const stored = await store.get(first.callback.id);
    expect([stored?.status, stored?.attempts, stored?.claimedBy]).to.deep.equal(['failed', 1, null]);
    const attempts = await store.attempts(first.callback.id);
    expect(attempts.map((a) => a.outcome)).to.deep.equal(['instance_lost']);
    expect((await store.history(first.callback.id)).map((h) => h.type)).to.include.members(['lease_expired', 'failed']);
  });

  it('under the maximum the reclaim still takes it (the lost attempt counted)', async () => {
    const first = await claimed(2, 'lost', 1000, new Date(Date.now() - 120_000));
    const again = await store.claim({
      callbackId: first.callback.id,
      instanceId: 'me',
      agentId: 'a1',
      agentChannelId: 'ag-2',
      leaseMs: 60000,
      now: new Date(),
    });
    expect(again?.callback.attempts).to.equal(1);
    expect(again?.attempt.attemptNo).to.equal(2);
  });

  it('an attempt end lost to a database outage is retried, the lease kept, until stored once the database is back', async () => {
    const leaseSec = 3;
    const logLines: string[] = [];
    const ctx = {
      config: { instanceId: 'me', callback: { leaseSec } },
      store,
      clock: systemClock,
      logger: createLogger({
        level: 'debug',
        stream: new Writable({
          write(chunk: Buffer, _enc, done) {
            logLines.push(chunk.toString());
            done();
          },
        }),
      }),
      milestone: () => undefined,
      queues: { declined: () => undefined },
    } as unknown as CallContext;
    const c = await claimed(1, 'me', leaseSec * 1000);
    const lease = new LeaseKeeper(ctx, c.callback.id, ctx.logger, c.attempt.attemptNo);
    lease.start();
    await cutDatabase(t.scratch.name);
    const ended = concludeAttempt(ctx, ctx.logger, {
      callback: c.callback,
      attempt: c.attempt,
      queue: { retryMinGapSec: 0 } as QueueConfig,
      outcome: 'no_answer',
      cause: 19,
      customerDialled: true,
      lease,
    });
    await sleep(1500);
    await restoreDatabase(t.scratch.name);
    const result = await ended;
    expect(result.status).to.equal('failed');
    expect(result.attempts).to.equal(1);
    const attempts = await store.attempts(c.callback.id);
    expect(attempts.map((a) => a.outcome)).to.deep.equal(['no_answer']);
    expect(logLines.some((l) => l.includes('retrying while the lease is kept'))).to.equal(true);
    // Stopped once the end was stored: no renewal after it.
    const stored = await store.get(c.callback.id);
    expect(stored?.claimedBy).to.equal(null);
  });
});
