import { expect } from 'chai';
import { CallbackStore } from '../../src/store/callback-store';
import { callbackRequest } from '../helpers/callback-request';
import { freshDatabase, TestDatabase } from '../helpers/database';

/**
 * Issue 18 (fuzzer, an agent held for a plugin call): a pending callback whose row was locked for
 * a moment by a short write (the source call's end, a lease renewal, a booking) was passed over
 * by the claim's SKIP LOCKED and read as "claimed elsewhere": the callback left the queue until
 * the next sync and dispatch took an agent for it again and again. A claim now tries such a row
 * again; a row held by another claim, or no longer pending, is still a plain no.
 */
describe('claiming a pending callback whose row is locked for a moment (real PostgreSQL)', function () {
  this.timeout(30000);
  let t: TestDatabase;
  let store: CallbackStore;

  before(async () => {
    t = await freshDatabase();
    store = new CallbackStore(t.db);
  });
  after(() => t.close());
  beforeEach(() => t.db.raw('TRUNCATE callback_events, callback_attempts, callback_requests RESTART IDENTITY CASCADE'));

  async function pending(): Promise<string> {
    const r = await store.requestCallback(callbackRequest({ customerNumber: '+15550002222' }));
    if (r.kind !== 'stored') throw new Error('not stored');
    return r.callback.id;
  }

  /** Holds the row's lock (as an UPDATE would) for `ms`, in a transaction of its own. */
  async function lockFor(id: string, ms: number): Promise<{ locked: Promise<void>; released: Promise<void> }> {
    let signal!: () => void;
    const locked = new Promise<void>((r) => (signal = r));
    const released = t.db.transaction(async (tx) => {
      await tx('callback_requests').where({ id }).update({ updated_at: tx.fn.now() });
      signal();
      await new Promise((r) => setTimeout(r, ms));
    });
    return { locked, released: released.then(() => undefined) };
  }

  const claimInput = (callbackId: string, instanceId = 'me') => ({
    callbackId,
    instanceId,
    agentId: 'a1',
    agentChannelId: `ag-${instanceId}`,
    leaseMs: 60000,
    now: new Date(),
  });

  it('a row locked for 40 ms by a short write is claimed once the write is done', async () => {
    const id = await pending();
    const { locked, released } = await lockFor(id, 40);
    await locked;
    const c = await store.claim(claimInput(id));
    await released;
    expect(c, 'claimed after the short lock').to.not.equal(null);
    expect(c?.callback.status).to.equal('in_progress');
    expect(c?.attempt.attemptNo).to.equal(1);
  });

  it('a row locked for longer than the retries is a no (and nothing is written)', async () => {
    const id = await pending();
    const { locked, released } = await lockFor(id, 600);
    await locked;
    const c = await store.claim(claimInput(id));
    await released;
    expect(c).to.equal(null);
    const row = (await t.db('callback_requests').where({ id }).first()) as { status: string; attempts_started: number };
    expect(row.status).to.equal('pending');
    expect(row.attempts_started).to.equal(0);
  });

  it('two instances racing: exactly one claims, the other gets no', async () => {
    const id = await pending();
    const [a, b] = await Promise.all([store.claim(claimInput(id, 'one')), store.claim(claimInput(id, 'two'))]);
    expect([a, b].filter((c) => c !== null)).to.have.length(1);
    expect((await t.db('callback_attempts').where({ callback_id: id })).length).to.equal(1);
  });
});
