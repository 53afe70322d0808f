import { expect } from 'chai';
import { Knex } from 'knex';
import { parseConfig, QueueConfig } from '../../src/config/config';
import { requesterKeyOf } from '../../src/engine/number-guard';
import { CallbackStore, RequestResult } from '../../src/store/callback-store';
import { announcementsSent } from '../../src/store/change-feed';
import { connectionOptions, createDatabase } from '../../src/store/database';
import { callbackRequest } from '../helpers/callback-request';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { lockTable } from '../helpers/database-faults';

/**
 * Limits that hold under concurrency (issue 19): the per-caller rate limit and the per-number
 * limit are counted and enforced by the booking statement itself, under the requester's and the
 * number's advisory locks, so that 50 simultaneous bookings store exactly the limit. And bounded
 * waits: statement_timeout and lock_timeout on every pooled connection. Real PostgreSQL.
 */

const request = callbackRequest;
const N = 50;
const RATE = { limit: 3, windowSec: 3600 };

function kinds(results: RequestResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.kind] = (out[r.kind] ?? 0) + 1;
  return out;
}

async function count(db: Knex, where: Record<string, unknown> = {}): Promise<number> {
  const [row] = await db('callback_requests').where(where).count<{ n: string }[]>({ n: '*' });
  return Number(row?.n ?? 0);
}

describe('booking limits under concurrency (real PostgreSQL)', function () {
  this.timeout(60000);
  let t: TestDatabase;
  let store: CallbackStore;
  /** One connection per simultaneous booking: every one of them is in the database at once. */
  let wide: Knex;
  let wideStore: CallbackStore;

  before(async () => {
    t = await freshDatabase();
    store = new CallbackStore(t.db);
    wide = createDatabase(t.url, { poolMax: N });
    wideStore = new CallbackStore(wide);
    // Open the connections before the burst, so the 50 statements really overlap.
    await Promise.all(Array.from({ length: N }, () => wide.raw('SELECT pg_sleep(0.05)')));
  });
  after(async () => {
    await wide.destroy();
    await t.close();
  });
  beforeEach(async () => {
    await t.db.raw('TRUNCATE callback_events, callback_attempts, callback_requests RESTART IDENTITY CASCADE');
  });

  it('50 simultaneous requests of one caller, each for another number, against a limit of 3: exactly 3 stored', async () => {
    for (let round = 0; round < 3; round++) {
      const key = `caller:+1555700000${round}`;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          wideStore.requestCallback(
            request({ customerNumber: `+1555800${round}${String(i).padStart(3, '0')}`, requesterKey: key, rateLimit: RATE }),
          ),
        ),
      );
      expect(kinds(results), `round ${round}`).to.deep.equal({ stored: 3, rate_limited: N - 3 });
      expect(await count(t.db, { requester_key: key })).to.equal(3);
    }
    expect(await count(t.db), 'nothing else written').to.equal(9);
    const [events] = await t.db('callback_events').count<{ n: string }[]>({ n: '*' });
    expect(Number(events?.n)).to.equal(9);
  });

  it('50 simultaneous requests of one number in 50 queues, maxPendingPerNumber 2: exactly 2 open', async () => {
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        wideStore.requestCallback(request({ queueId: `q${i}`, customerNumber: '+15558100000', maxOpenElsewhere: 2 })),
      ),
    );
    expect(kinds(results)).to.deep.equal({ stored: 2, over_limit: N - 2 });
    expect(await count(t.db, { customer_number: '+15558100000' })).to.equal(2);
  });

  it('both limits at once: one caller, one number, many queues', async () => {
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        wideStore.requestCallback(
          request({
            queueId: `q${i % 5}`,
            customerNumber: `+155581100${String(i).padStart(2, '0')}`,
            requesterKey: 'caller:+15557000009',
            rateLimit: { limit: 2, windowSec: 60 },
          }),
        ),
      ),
    );
    // 5 queues, 2 each for this caller.
    expect(kinds(results)).to.deep.equal({ stored: 10, rate_limited: N - 10 });
    const perQueue = await t
      .db('callback_requests')
      .select('queue_id')
      .count<{ queue_id: string; n: string }[]>({ n: '*' })
      .groupBy('queue_id');
    expect(perQueue.map((r) => Number(r.n))).to.deep.equal([2, 2, 2, 2, 2]);
  });

  it('the rate limit counts closed requests within the window, not older ones, and only this queue and key', async () => {
    const key = 'caller:+15557000010';
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await store.requestCallback(request({ customerNumber: `+1555820000${i}`, requesterKey: key, rateLimit: RATE }));
      expect(r.kind).to.equal('stored');
      if (r.kind === 'stored') ids.push(r.callback.id);
    }
    // Completed or cancelled, they still count: the limit is on requests, not on open callbacks.
    await store.setStatus(ids[0], 'cancelled', 'test', new Date());
    const fourth = await store.requestCallback(request({ customerNumber: '+15558200009', requesterKey: key, rateLimit: RATE }));
    expect(fourth).to.deep.equal({ kind: 'rate_limited', requestedByKey: 3 });
    // Another key, another queue, or no key at all (the API): not counted against this one.
    expect(
      (await store.requestCallback(request({ customerNumber: '+15558200009', requesterKey: 'caller:+15557000011', rateLimit: RATE }))).kind,
    ).to.equal('stored');
    expect(
      (await store.requestCallback(request({ queueId: 'sales', customerNumber: '+15558200008', requesterKey: key, rateLimit: RATE }))).kind,
    ).to.equal('stored');
    expect((await store.requestCallback(request({ customerNumber: '+15558200007' }))).kind).to.equal('stored');
    // One request slides out of the window: room for one more.
    await t
      .db('callback_requests')
      .where({ id: ids[1] })
      .update({ requested_at: t.db.raw("now() - interval '2 hours'") });
    expect((await store.requestCallback(request({ customerNumber: '+15558200006', requesterKey: key, rateLimit: RATE }))).kind).to.equal(
      'stored',
    );
    expect((await store.requestCallback(request({ customerNumber: '+15558200005', requesterKey: key, rateLimit: RATE }))).kind).to.equal(
      'rate_limited',
    );
  });

  it('a duplicate is answered as a duplicate even over the rate limit; nothing is written', async () => {
    const key = 'caller:+15557000012';
    for (let i = 0; i < 3; i++)
      await store.requestCallback(request({ customerNumber: `+1555830000${i}`, requesterKey: key, rateLimit: RATE }));
    const again = await store.requestCallback(request({ customerNumber: '+15558300000', requesterKey: key, rateLimit: RATE }));
    expect(again.kind).to.equal('duplicate');
    expect(await count(t.db)).to.equal(3);
  });

  it('the requester key is stored on the row', async () => {
    const r = await store.requestCallback(request({ requesterKey: 'typed:+15551234567', rateLimit: RATE }));
    expect(r.kind).to.equal('stored');
    const [row] = await t.db('callback_requests').select<{ requester_key: string | null }[]>('requester_key');
    expect(row?.requester_key).to.equal('typed:+15551234567');
  });

  describe('whose requests are counted', () => {
    const queue: QueueConfig = parseConfig({ queues: [{ id: 'support' }] }, { ARI_PASSWORD: 'unused-here' }).queues[0];

    it('a caller id: its E.164 form under the queue plan, whatever the caller typed', () => {
      expect(requesterKeyOf(queue, '+15557001234', '+12125550100')).to.equal('caller:+15557001234');
      expect(requesterKeyOf(queue, '15557001234', '+12125550199')).to.equal('caller:+15557001234');
      expect(requesterKeyOf(queue, '(555) 700-1234', '+12125550199')).to.equal('caller:+15557001234');
    });

    it('a withheld or unusable caller id: the typed number, so withheld callers do not share one bucket', () => {
      for (const withheld of ['', 'anonymous', 'Restricted', 'unknown', 'abc'])
        expect(requesterKeyOf(queue, withheld, '+12125550100'), withheld).to.equal('typed:+12125550100');
      expect(requesterKeyOf(queue, 'anonymous', '+12125550101')).to.equal('typed:+12125550101');
    });
  });

  describe('bounded waits', () => {
    it('every pooled connection has statement_timeout and lock_timeout (defaults 5 s and 2 s)', async () => {
      const r = await t.db.raw<{ rows: { s: string; l: string }[] }>(
        "SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l",
      );
      expect(r.rows[0]).to.deep.equal({ s: '5s', l: '2s' });
      expect(connectionOptions({ statementTimeoutSec: 0.25, lockTimeoutSec: 0, synchronousCommit: false })).to.equal(
        '-c statement_timeout=250 -c lock_timeout=0 -c synchronous_commit=off',
      );
    });

    it('a booking behind LOCK TABLE fails within lock_timeout, and stores once the lock is gone', async () => {
      const bounded = createDatabase(t.url, { poolMax: 2, lockTimeoutSec: 0.5 });
      const lock = await lockTable(wide, 'callback_requests');
      try {
        const t0 = Date.now();
        const err = await new CallbackStore(bounded).requestCallback(request()).then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        const took = Date.now() - t0;
        expect(err?.message).to.match(/lock timeout/);
        expect(took).to.be.within(400, 2000);
      } finally {
        await lock.release();
      }
      expect((await new CallbackStore(bounded).requestCallback(request())).kind).to.equal('stored');
      await announcementsSent(bounded); // the booking's change announcement, not cut off by the destroy
      await bounded.destroy();
    });

    it('a statement longer than statement_timeout is cancelled', async () => {
      const bounded = createDatabase(t.url, { poolMax: 1, statementTimeoutSec: 0.3 });
      try {
        const t0 = Date.now();
        const err = await bounded.raw('SELECT pg_sleep(3)').then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(err?.message).to.match(/statement timeout/);
        expect(Date.now() - t0).to.be.below(2000);
        // The pool goes on: the cancelled statement gave its connection back.
        expect((await bounded.raw<{ rows: { ok: number }[] }>('SELECT 1 AS ok')).rows).to.deep.equal([{ ok: 1 }]);
      } finally {
        await bounded.destroy();
      }
    });

    it('a caller waiting on another booking of the same caller waits no longer than lock_timeout', async () => {
      // Another session holds the requester's advisory lock (a stuck booking): this one's
      // count cannot start, and lock_timeout cuts the wait.
      const bounded = createDatabase(t.url, { poolMax: 1, lockTimeoutSec: 0.3 });
      const holder = await wide.transaction();
      try {
        await holder.raw("SELECT pg_advisory_xact_lock(7001, hashtext('support' || ' ' || 'caller:+15557000013'))");
        const err = await new CallbackStore(bounded)
          .requestCallback(request({ requesterKey: 'caller:+15557000013', rateLimit: RATE }))
          .then(
            () => undefined,
            (e: unknown) => e as Error,
          );
        expect(err?.message).to.match(/lock timeout/);
      } finally {
        await holder.rollback();
        await bounded.destroy();
      }
    });
  });
});
