import { expect } from 'chai';
import { CallbackStore } from '../../src/store/callback-store';
import { migrate } from '../../src/store/database';
import { callbackRequest } from '../helpers/callback-request';
import { freshDatabase, TestDatabase } from '../helpers/database';

const request = callbackRequest;

describe('CallbackStore (real PostgreSQL)', () => {
  let t: TestDatabase;
  let store: CallbackStore;

  before(async () => {
    t = await freshDatabase();
    store = new CallbackStore(t.db);
  });
  after(async () => t.close());
  beforeEach(async () => {
    await t.db.raw('TRUNCATE callback_events, callback_attempts, callback_requests RESTART IDENTITY CASCADE');
  });

  it('applies the schema idempotently (a second migrate applies nothing)', async () => {
    expect(await migrate(t.db)).to.deep.equal([]);
    const tables = await t.db.raw<{ rows: { tablename: string }[] }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    expect(tables.rows.map((r) => r.tablename)).to.include.members(['callback_requests', 'callback_attempts', 'callback_events']);
  });

  it('stores a request with its history event, committed when the promise resolves', async () => {
    const r = await store.requestCallback(request());
    expect(r.kind).to.equal('stored');
    // Read through a separate connection: the row must be visible outside the transaction.
    const other = await t.db.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM callback_requests');
    expect(Number(other.rows[0]?.n)).to.equal(1);
    if (r.kind !== 'stored') return;
    expect(r.callback.status).to.equal('pending');
    expect(r.callback.arrivedAt.toISOString()).to.equal('2026-11-24T10:00:00.000Z');
    const history = await store.history(r.callback.id);
    expect(history.map((h) => h.type)).to.deep.equal(['requested']);
  });

  it('keeps the first request and its place for a duplicate number in the same queue', async () => {
    const first = await store.requestCallback(request({ arrivedAt: new Date('2026-11-24T09:00:00Z') }));
    const second = await store.requestCallback(request({ arrivedAt: new Date('2026-11-24T11:00:00Z') }));
    expect(second.kind).to.equal('duplicate');
    if (first.kind !== 'stored' || second.kind !== 'duplicate') return;
    expect(second.existing.id).to.equal(first.callback.id);
    expect(second.existing.arrivedAt.toISOString()).to.equal('2026-11-24T09:00:00.000Z');
    const other = await store.requestCallback(request({ queueId: 'sales' }));
    expect(other.kind).to.equal('stored');
  });

  it('rejects a garbage number at the database level (never a stored garbage number)', async () => {
    let error: unknown;
    try {
      await store.requestCallback(request({ customerNumber: "1'; DROP TABLE callback_requests; --" }));
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/check constraint/);
    expect((await store.listOpen()).length).to.equal(0);
  });

  it('lets exactly one claimer win and records the attempt', async () => {
    const r = await store.requestCallback(request());
    if (r.kind !== 'stored') throw new Error('not stored');
    const now = new Date();
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((who) =>
        store.claim({
          callbackId: r.callback.id,
          instanceId: who,
          agentId: `agent-${who}`,
          agentChannelId: `chan-${who}`,
          leaseMs: 60000,
          now,
        }),
      ),
    );
    const winners = results.filter((x) => x !== null);
    expect(winners).to.have.length(1);
    const attempts = await store.attempts(r.callback.id);
    expect(attempts).to.have.length(1);
    expect(attempts[0]?.attemptNo).to.equal(1);
  });

  it('reclaims an expired lease and counts the lost attempt only if the customer was dialled', async () => {
    const r = await store.requestCallback(request());
    if (r.kind !== 'stored') throw new Error('not stored');
    const t0 = new Date('2026-11-24T12:00:00Z');
    const c1 = await store.claim({
      callbackId: r.callback.id,
      instanceId: 'crashed',
      agentId: 'a1',
      agentChannelId: 'x1',
      leaseMs: 1000,
      now: t0,
    });
    expect(c1).to.not.equal(null);
    await store.markAttempt(c1!.attempt.id, r.callback.id, 'customer_dialled', { customerChannelId: 'cust-1', now: t0 });
    // Lease still running: nobody else may take it.
    expect(
      await store.claim({
        callbackId: r.callback.id,
        instanceId: 'other',
        agentId: 'a2',
        agentChannelId: 'x2',
        leaseMs: 1000,
        now: new Date(t0.getTime() + 500),
      }),
    ).to.equal(null);
    const c2 = await store.claim({
      callbackId: r.callback.id,
      instanceId: 'other',
      agentId: 'a2',
      agentChannelId: 'x2',
      leaseMs: 1000,
      now: new Date(t0.getTime() + 1500),
    });
    expect(c2).to.not.equal(null);
    expect(c2!.attempt.attemptNo).to.equal(2);
    const attempts = await store.attempts(r.callback.id);
    expect(attempts.map((a) => a.outcome)).to.deep.equal(['instance_lost', null]);
    expect((await store.get(r.callback.id))?.attempts).to.equal(1);
    expect((await store.history(r.callback.id)).map((h) => h.type)).to.include('lease_expired');
  });

  it("a lost instance's attempt: answered but never bridged is called again; bridged is the callback done", async () => {
    const t0 = new Date('2026-11-24T12:00:00Z');
    const lost = async (n: string, steps: ('customer_dialled' | 'customer_answered' | 'bridged')[]) => {
      const r = await store.requestCallback(request({ customerNumber: n }));
      if (r.kind !== 'stored') throw new Error('not stored');
      const c = await store.claim({
        callbackId: r.callback.id,
        instanceId: 'crashed',
        agentId: 'a1',
        agentChannelId: `agent-${n}`,
        leaseMs: 1000,
        now: t0,
      });
      if (!c) throw new Error('not claimed');
      await store.markAttemptSteps(c.attempt.id, r.callback.id, steps, { customerChannelId: `cust-${n}`, now: t0 });
      // The lease runs out; another instance's agent is free.
      return {
        id: r.callback.id,
        next: await store.claim({
          callbackId: r.callback.id,
          instanceId: 'other',
          agentId: 'a2',
          agentChannelId: `other-${n}`,
          leaseMs: 1000,
          now: new Date(t0.getTime() + 1500),
        }),
      };
    };
    // At the guard (or on hold for an agent in customer-first mode): no conversation yet.
    const answered = await lost('+15550008001', ['customer_dialled', 'customer_answered']);
    expect(answered.next, 'claimed again: the customer is called again').to.not.equal(null);
    expect((await store.get(answered.id))?.attempts, 'the lost attempt counts').to.equal(1);
    const bridged = await lost('+15550008002', ['customer_dialled', 'customer_answered', 'bridged']);
    expect(bridged.next, 'not claimed: the conversation happened').to.equal(null);
    expect(await store.get(bridged.id)).to.include({ status: 'completed', outcomeReason: 'bridged before the instance was lost' });
  });

  it("a restarted process takes over the lease of its predecessor's live attempt, but not once another instance reclaimed it", async () => {
    const t0 = new Date('2026-11-24T12:00:00Z');
    const book = async (n: string) => {
      const r = await store.requestCallback(request({ customerNumber: n }));
      if (r.kind !== 'stored') throw new Error('not stored');
      const c = await store.claim({
        callbackId: r.callback.id,
        instanceId: 'crashed',
        agentId: 'a1',
        agentChannelId: `agent-${n}`,
        leaseMs: 1000,
        now: t0,
      });
      if (!c) throw new Error('not claimed');
      return c;
    };
    // Taken over, even with the old lease run out, while its attempt is still the latest.
    const live = await book('+15550007001');
    const later = new Date(t0.getTime() + 5000);
    const taken = await store.resumeAttempt({
      callbackId: live.callback.id,
      attemptNo: live.attempt.attemptNo,
      instanceId: 'restarted',
      leaseMs: 30000,
      now: later,
    });
    expect(taken).to.include({ status: 'in_progress', claimedBy: 'restarted' });
    expect(taken?.claimExpiresAt?.getTime()).to.equal(later.getTime() + 30000);
    // Now nobody else may claim it: the lease is live again.
    expect(
      await store.claim({
        callbackId: live.callback.id,
        instanceId: 'other',
        agentId: 'a2',
        agentChannelId: 'other-1',
        leaseMs: 1000,
        now: new Date(later.getTime() + 1000),
      }),
    ).to.equal(null);
    // Reclaimed by another instance first (its own attempt started): nothing is taken.
    const lost = await book('+15550007002');
    expect(
      await store.claim({
        callbackId: lost.callback.id,
        instanceId: 'other',
        agentId: 'a2',
        agentChannelId: 'other-2',
        leaseMs: 1000,
        now: later,
      }),
    ).to.not.equal(null);
    expect(
      await store.resumeAttempt({
        callbackId: lost.callback.id,
        attemptNo: lost.attempt.attemptNo,
        instanceId: 'restarted',
        leaseMs: 30000,
        now: later,
      }),
    ).to.equal(undefined);
    expect((await store.get(lost.callback.id))?.claimedBy).to.equal('other');
    // Finished meanwhile: nothing is taken either.
    const done = await book('+15550007003');
    await store.finishAttempt({
      attemptId: done.attempt.id,
      callbackId: done.callback.id,
      outcome: 'answered',
      nextStatus: 'completed',
      countsAsAttempt: true,
      now: t0,
    });
    expect(
      await store.resumeAttempt({
        callbackId: done.callback.id,
        attemptNo: done.attempt.attemptNo,
        instanceId: 'restarted',
        leaseMs: 30000,
        now: later,
      }),
    ).to.equal(undefined);
  });

  it('finishes attempts: back to pending with attempts + 1, then failed at the maximum', async () => {
    const r = await store.requestCallback(request({ maxAttempts: 2 }));
    if (r.kind !== 'stored') throw new Error('not stored');
    const now = new Date();
    const c = await store.claim({ callbackId: r.callback.id, instanceId: 'i', agentId: 'a', agentChannelId: 'ch1', leaseMs: 60000, now });
    const back = await store.finishAttempt({
      attemptId: c!.attempt.id,
      callbackId: r.callback.id,
      outcome: 'busy',
      cause: 17,
      nextStatus: 'pending',
      countsAsAttempt: true,
      now,
    });
    expect(back.status).to.equal('pending');
    expect(back.attempts).to.equal(1);
    expect(back.claimedBy).to.equal(null);
    const c2 = await store.claim({ callbackId: r.callback.id, instanceId: 'i', agentId: 'a', agentChannelId: 'ch2', leaseMs: 60000, now });
    const done = await store.finishAttempt({
      attemptId: c2!.attempt.id,
      callbackId: r.callback.id,
      outcome: 'no_answer',
      cause: 19,
      nextStatus: 'failed',
      countsAsAttempt: true,
      reason: 'max attempts',
      now,
    });
    expect(done.status).to.equal('failed');
    expect(done.attempts).to.equal(2);
    const attempts = await store.attempts(r.callback.id);
    expect(attempts.map((a) => [a.outcome, a.cause])).to.deep.equal([
      ['busy', 17],
      ['no_answer', 19],
    ]);
    expect(await store.listOpen()).to.have.length(0);
  });
});
