import { expect } from 'chai';
import { Knex } from 'knex';
import { CallbackStore, RequestResult } from '../../src/store/callback-store';
import { announcementsSent } from '../../src/store/change-feed';
import { createDatabase } from '../../src/store/database';
import { callbackRequest } from '../helpers/callback-request';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { lockTable } from '../helpers/database-faults';
import { logStatements } from '../helpers/statement-log';

/**
 * Group commit for bookings (issue 21): bookings that arrive while a booking statement runs are
 * written together by the next one, each answered only after the commit that holds its own row,
 * with the limits and the duplicate check exactly as if the bookings had run one after the other.
 * Real PostgreSQL (sql/011_group_booking.sql).
 */

const request = callbackRequest;
const N = 50;

function kinds(results: RequestResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.kind] = (out[r.kind] ?? 0) + 1;
  return out;
}

async function count(db: Knex, table: string, where: Record<string, unknown> = {}): Promise<number> {
  const [row] = await db(table).where(where).count<{ n: string }[]>({ n: '*' });
  return Number(row?.n ?? 0);
}

/** The booking statements a log holds (the batch function's calls). */
const bookings = (statements: string[]): string[] => statements.filter((s) => s.includes('callback_book_batch'));

describe('group commit of bookings (real PostgreSQL)', function () {
  this.timeout(60000);
  let t: TestDatabase;
  let store: CallbackStore;

  before(async () => {
    t = await freshDatabase();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.db.raw('TRUNCATE callback_events, callback_attempts, callback_requests RESTART IDENTITY CASCADE');
    store = new CallbackStore(t.db);
  });

  it('50 simultaneous bookings of 50 numbers: all stored by one to a few statements, each with its history event', async () => {
    const log = logStatements(t.db);
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => store.requestCallback(request({ customerNumber: `+1555900${String(i).padStart(4, '0')}` }))),
    );
    log.stop();
    expect(kinds(results)).to.deep.equal({ stored: N });
    // The first goes alone at once; the 49 that arrived meanwhile go in the next statement.
    expect(bookings(log.statements).length).to.be.within(1, 3);
    expect(
      log.statements.filter((s) => /^(BEGIN|COMMIT)/.test(s)),
      'no transaction around it',
    ).to.deep.equal([]);
    expect([await count(t.db, 'callback_requests'), await count(t.db, 'callback_events')]).to.deep.equal([N, N]);
    // Each caller got its own row back.
    for (const [i, r] of results.entries())
      expect(r.kind === 'stored' && r.callback.customerNumber).to.equal(`+1555900${String(i).padStart(4, '0')}`);
  });

  it('a single booking on an idle store is sent at once, alone', async () => {
    const log = logStatements(t.db);
    const t0 = Date.now();
    const r = await store.requestCallback(request());
    log.stop();
    expect(r.kind).to.equal('stored');
    expect(bookings(log.statements)).to.have.length(1);
    // No timer in the way: far below any batching window one could have used (generous for a loaded machine).
    expect(Date.now() - t0).to.be.below(2000);
  });

  it('one caller, 50 numbers at once, rate limit 3: exactly 3 stored, counted inside the batch', async () => {
    const key = 'caller:+15557100001';
    const log = logStatements(t.db);
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        store.requestCallback(
          request({ customerNumber: `+1555910${String(i).padStart(4, '0')}`, requesterKey: key, rateLimit: { limit: 3, windowSec: 3600 } }),
        ),
      ),
    );
    log.stop();
    expect(bookings(log.statements).length, 'batched').to.be.below(N);
    expect(kinds(results)).to.deep.equal({ stored: 3, rate_limited: N - 3 });
    // As if one after the other: the first three in arrival order are the stored ones.
    expect(results.slice(0, 3).map((r) => r.kind)).to.deep.equal(['stored', 'stored', 'stored']);
    expect(results.slice(3).map((r) => (r.kind === 'rate_limited' ? r.requestedByKey : -1))).to.deep.equal(Array(N - 3).fill(3));
    expect(await count(t.db, 'callback_requests', { requester_key: key })).to.equal(3);
  });

  it('one number in 50 queues at once, maxPendingPerNumber 2: exactly 2 open; the limit counts rows of the same batch', async () => {
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        store.requestCallback(request({ queueId: `q${i}`, customerNumber: '+15559200000', maxOpenElsewhere: 2 })),
      ),
    );
    expect(results.map((r) => r.kind).slice(0, 3)).to.deep.equal(['stored', 'stored', 'over_limit']);
    expect(kinds(results)).to.deep.equal({ stored: 2, over_limit: N - 2 });
    expect(await count(t.db, 'callback_requests', { customer_number: '+15559200000' })).to.equal(2);
  });

  it('two bookings of one number in one batch: the first stored, the second its duplicate, as if sequential', async () => {
    const log = logStatements(t.db);
    const blocker = store.requestCallback(request({ customerNumber: '+15559300000' })); // in flight: the rest queue
    const [a, b, c] = await Promise.all([
      store.requestCallback(request({ customerNumber: '+15559300001', arrivedAt: new Date('2026-11-24T09:00:00Z') })),
      store.requestCallback(request({ customerNumber: '+15559300001', arrivedAt: new Date('2026-11-24T11:00:00Z') })),
      store.requestCallback(request({ customerNumber: '+15559300002' })),
    ]);
    await blocker;
    log.stop();
    expect(bookings(log.statements), 'the blocker, then the three together').to.have.length(2);
    expect(a.kind).to.equal('stored');
    expect(b.kind).to.equal('duplicate');
    expect(c.kind).to.equal('stored');
    if (a.kind !== 'stored' || b.kind !== 'duplicate') return;
    expect(b.existing.id).to.equal(a.callback.id);
    expect(b.existing.arrivedAt.toISOString(), 'the first keeps its place').to.equal('2026-11-24T09:00:00.000Z');
    expect(await count(t.db, 'callback_events')).to.equal(3);
  });

  it('a row that fails mid-batch fails alone: the rows before and after it are stored, the failed one left nothing', async () => {
    // A database error on one row only: a trigger refusing one number (as a constraint or a
    // corrupt index entry would), in the middle of the batch.
    await t.db.raw(`CREATE FUNCTION refuse_666() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.customer_number = '+15559400666' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$`);
    await t.db.raw('CREATE TRIGGER refuse_666 BEFORE INSERT ON callback_requests FOR EACH ROW EXECUTE FUNCTION refuse_666()');
    try {
      const log = logStatements(t.db);
      const blocker = store.requestCallback(request({ customerNumber: '+15559400000' }));
      const numbers = ['+15559400001', '+15559400002', '+15559400666', '+15559400003', '+15559400004'];
      const results = await Promise.allSettled(numbers.map((n) => store.requestCallback(request({ customerNumber: n }))));
      await blocker;
      log.stop();
      expect(bookings(log.statements)).to.have.length(2);
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value.kind : (r.reason as Error).message))).to.deep.equal([
        'stored',
        'stored',
        'refused by test trigger',
        'stored',
        'stored',
      ]);
      const stored = await t.db('callback_requests').pluck<string[]>('customer_number');
      expect(stored.sort()).to.deep.equal(['+15559400000', '+15559400001', '+15559400002', '+15559400003', '+15559400004']);
      expect(await count(t.db, 'callback_events'), 'no event for the failed row').to.equal(5);
    } finally {
      await t.db.raw('DROP TRIGGER refuse_666 ON callback_requests');
      await t.db.raw('DROP FUNCTION refuse_666()');
    }
  });

  it('a lock that cannot be had fails only the rows that need it, within lock_timeout', async () => {
    const bounded = createDatabase(t.url, { poolMax: 2, lockTimeoutSec: 0.3 });
    const holder = await t.db.transaction();
    try {
      // Another session holds the advisory lock of one number (a stuck booking elsewhere).
      await holder.raw("SELECT pg_advisory_xact_lock(7002, hashtext('+15559500002'))");
      const s = new CallbackStore(bounded);
      const blocker = s.requestCallback(request({ customerNumber: '+15559500000' }));
      const results = await Promise.allSettled(
        ['+15559500001', '+15559500002', '+15559500003'].map((n) => s.requestCallback(request({ customerNumber: n }))),
      );
      await blocker;
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value.kind : (r.reason as Error).message))).to.deep.equal([
        'stored',
        'canceling statement due to lock timeout',
        'stored',
      ]);
    } finally {
      await holder.rollback();
      await announcementsSent(bounded);
      await bounded.destroy();
    }
  });

  it('a statement that fails as a whole rejects every booking of its batch, writes nothing, and the next batch is written', async () => {
    // statement_timeout cuts the whole statement: a session holds the table, and the timeout
    // is shorter than lock_timeout, so no row can catch it.
    const bounded = createDatabase(t.url, { poolMax: 2, statementTimeoutSec: 0.3, lockTimeoutSec: 0 });
    const lock = await lockTable(t.db, 'callback_requests');
    const s = new CallbackStore(bounded);
    let results: PromiseSettledResult<RequestResult>[];
    try {
      const blocker = s.requestCallback(request({ customerNumber: '+15559600000' })).catch((e: Error) => e);
      results = await Promise.allSettled(['+15559600001', '+15559600002'].map((n) => s.requestCallback(request({ customerNumber: n }))));
      expect(await blocker).to.be.instanceOf(Error);
    } finally {
      await lock.release();
    }
    expect(
      results.map((r) => (r.status === 'rejected' ? /statement timeout/.test((r.reason as Error).message) : r.value.kind)),
    ).to.deep.equal([true, true]);
    expect(await count(t.db, 'callback_requests')).to.equal(0);
    expect((await s.requestCallback(request({ customerNumber: '+15559600003' }))).kind).to.equal('stored');
    await announcementsSent(bounded);
    await bounded.destroy();
  });
});
