import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { CallbackStore, RequestResult } from '../../src/store/callback-store';
import { announcementsSent } from '../../src/store/change-feed';
import { createDatabase, migrate, SQL_DIR } from '../../src/store/database';
import { createScratchDatabase } from '../../tools/support/postgres-server';
import { callbackRequest } from '../helpers/callback-request';
import { freshDatabase, TestDatabase, testPostgresServer } from '../helpers/database';
import { logStatements } from '../helpers/statement-log';

/**
 * The writes a person waits on, each one SQL statement (one round trip, atomic, committed under
 * autocommit): the booking at press 1, the claim when an agent frees up, and the agent's 1
 * (accepted + customer dialled). Against the real PostgreSQL, races included.
 */

const request = callbackRequest;

function stored(r: RequestResult): string {
  if (r.kind !== 'stored') throw new Error(`expected stored, got ${r.kind}`);
  return r.callback.id;
}

async function count(db: Knex, table: string): Promise<number> {
  const [row] = await db(table).count<{ n: string }[]>({ n: '*' });
  return Number(row?.n ?? 0);
}

/** Resolves once some session of this database waits on a lock (a blocked statement). */
async function someoneWaitsOnALock(db: Knex): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await db.raw<{ rows: { n: string }[] }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if (Number(r.rows[0]?.n) > 0) return;
    if (Date.now() > deadline) throw new Error('no statement blocked on a lock');
    await new Promise((res) => setTimeout(res, 10));
  }
}

describe('one-statement writes (real PostgreSQL)', function () {
  this.timeout(30000);
  let t: TestDatabase;
  let store: CallbackStore;
  /** Enough connections for 20 truly concurrent statements. */
  let wide: Knex;
  let wideStore: CallbackStore;

  before(async () => {
    t = await freshDatabase();
    store = new CallbackStore(t.db);
    wide = createDatabase(t.url, { poolMax: 20 });
    wideStore = new CallbackStore(wide);
  });
  after(async () => {
    await wide.destroy();
    await t.close();
  });
  beforeEach(async () => {
    await t.db.raw('TRUNCATE callback_events, callback_attempts, callback_requests RESTART IDENTITY CASCADE');
  });

  describe('booking (press 1, the API)', () => {
    it('stores the request and its history event in one statement, no transaction around it', async () => {
      const log = logStatements(t.db);
      const r = await store.requestCallback(request());
      log.stop();
      expect(log.statements).to.have.length(1);
      expect(log.statements[0]).to.match(/^WITH p AS/);
      const id = stored(r);
      expect(await count(t.db, 'callback_requests')).to.equal(1);
      const history = await store.history(id);
      expect(history.map((h) => [h.type, h.detail])).to.deep.equal([
        ['requested', { queueId: 'support', routeId: null, sourceChannelId: 'chan-1' }],
      ]);
    });

    it('a duplicate returns the open request, which keeps its place; nothing is written', async () => {
      const first = stored(await store.requestCallback(request({ arrivedAt: new Date('2026-11-24T09:00:00Z') })));
      const log = logStatements(t.db);
      const again = await store.requestCallback(request({ arrivedAt: new Date('2026-11-24T11:00:00Z') }));
      log.stop();
      expect(log.statements).to.have.length(1);
      expect(again.kind).to.equal('duplicate');
      if (again.kind !== 'duplicate') return;
      expect(again.existing.id).to.equal(first);
      expect(again.existing.arrivedAt.toISOString()).to.equal('2026-11-24T09:00:00.000Z');
      expect([await count(t.db, 'callback_requests'), await count(t.db, 'callback_events')]).to.deep.equal([1, 1]);
    });

    it('a closed request does not make a duplicate', async () => {
      const first = stored(await store.requestCallback(request()));
      await store.setStatus(first, 'completed', 'bridged', new Date());
      const again = await store.requestCallback(request());
      expect(again.kind).to.equal('stored');
    });

    it('the per-number limit counts open callbacks in the other queues only', async () => {
      stored(await store.requestCallback(request({ queueId: 'sales' })));
      const refused = await store.requestCallback(request({ maxOpenElsewhere: 1 }));
      expect(refused).to.deep.equal({ kind: 'over_limit', openElsewhere: 1 });
      expect(await count(t.db, 'callback_requests'), 'nothing written when refused').to.equal(1);
      // A limit of 2 lets it in; then the same queue is a duplicate, not a refusal.
      const second = stored(await store.requestCallback(request({ maxOpenElsewhere: 2 })));
      const dup = await store.requestCallback(request({ maxOpenElsewhere: 2 }));
      expect(dup.kind === 'duplicate' && dup.existing.id).to.equal(second);
      // No limit (absent or Infinity): a third queue is fine.
      expect((await store.requestCallback(request({ queueId: 'billing', maxOpenElsewhere: Infinity }))).kind).to.equal('stored');
    });

    it('closed callbacks elsewhere do not count toward the limit', async () => {
      const other = stored(await store.requestCallback(request({ queueId: 'sales' })));
      await store.setStatus(other, 'cancelled', 'test', new Date());
      expect((await store.requestCallback(request({ maxOpenElsewhere: 1 }))).kind).to.equal('stored');
    });

    it('the limit is decided before the duplicate, as the number policy always was', async () => {
      stored(await store.requestCallback(request({ queueId: 'sales' })));
      stored(await store.requestCallback(request()));
      expect(await store.requestCallback(request({ maxOpenElsewhere: 1 }))).to.deep.equal({ kind: 'over_limit', openElsewhere: 1 });
    });

    it('20 parallel bookings of one number: exactly one row and one history event, 19 duplicates of it', async () => {
      for (let round = 0; round < 5; round++) {
        const number = `+1555000000${round}`;
        const results = await Promise.all(
          Array.from({ length: 20 }, () => wideStore.requestCallback(request({ customerNumber: number, maxOpenElsewhere: 1 }))),
        );
        const ids = results.filter((r) => r.kind === 'stored').map(stored);
        expect(ids, `round ${round}`).to.have.length(1);
        const duplicates = results.filter((r) => r.kind === 'duplicate');
        expect(duplicates).to.have.length(19);
        for (const d of duplicates) expect(d.kind === 'duplicate' && d.existing.id).to.equal(ids[0]);
      }
      expect([await count(t.db, 'callback_requests'), await count(t.db, 'callback_events')]).to.deep.equal([5, 5]);
    });

    it('a concurrent insert that commits after the statement began: duplicate, never an error or a second row', async () => {
      // The competitor inserts the same queue and number and holds its transaction open: the
      // booking's INSERT waits on the unique index, its snapshot sees no open row, and after the
      // competitor commits the INSERT does nothing. The statement runs again and answers duplicate.
      const competitor = randomUUID();
      const trx = await wide.transaction();
      await trx('callback_requests').insert({
        id: competitor,
        queue_id: 'support',
        customer_number: '+15551234567',
        language: 'en',
        priority: 0,
        arrived_at: new Date('2026-11-24T08:00:00Z'),
        max_attempts: 3,
      });
      const log = logStatements(t.db);
      const booking = store.requestCallback(request());
      await someoneWaitsOnALock(wide);
      await trx.commit();
      const r = await booking;
      log.stop();
      expect(r.kind === 'duplicate' && r.existing.id).to.equal(competitor);
      expect(log.statements, 'the statement ran a second time').to.have.length(2);
      expect(await count(t.db, 'callback_requests')).to.equal(1);
      expect(await count(t.db, 'callback_events'), 'no event for a request that was not stored').to.equal(0);
    });

    it('a concurrent insert that rolls back: the waiting booking is stored', async () => {
      const trx = await wide.transaction();
      await trx('callback_requests').insert({
        id: randomUUID(),
        queue_id: 'support',
        customer_number: '+15551234567',
        language: 'en',
        priority: 0,
        arrived_at: new Date(),
        max_attempts: 3,
      });
      const booking = store.requestCallback(request());
      await someoneWaitsOnALock(wide);
      await trx.rollback();
      const id = stored(await booking);
      expect((await store.listOpen()).map((c) => c.id)).to.deep.equal([id]);
    });
  });

  describe('claim (an agent frees up)', () => {
    it('claims a pending callback in one statement: lease, attempt row and history event', async () => {
      const id = stored(await store.requestCallback(request()));
      const now = new Date('2026-11-24T12:00:00Z');
      const log = logStatements(t.db);
      const c = await store.claim({ callbackId: id, instanceId: 'i1', agentId: 'a1', agentChannelId: 'ch-1', leaseMs: 60000, now });
      log.stop();
      expect(log.statements).to.have.length(1);
      expect(c?.callback).to.deep.include({ id, status: 'in_progress', claimedBy: 'i1' });
      expect(c?.callback.claimExpiresAt?.toISOString()).to.equal('2026-11-24T12:01:00.000Z');
      expect(c?.attempt).to.deep.include({
        callbackId: id,
        attemptNo: 1,
        agentId: 'a1',
        agentChannelId: 'ch-1',
        customerChannelId: null,
        endedAt: null,
      });
      expect(c?.attempt.startedAt.toISOString()).to.equal(now.toISOString());
      expect(await store.attempts(id)).to.deep.equal([c?.attempt]);
      const history = await store.history(id);
      expect(history.map((h) => [h.type, h.agentId, h.detail])).to.deep.equal([
        ['requested', null, { queueId: 'support', routeId: null, sourceChannelId: 'chan-1' }],
        ['offered_to_agent', 'a1', { attemptNo: 1, agentChannelId: 'ch-1' }],
      ]);
    });

    it('nothing to claim (held by a live lease, closed, unknown): null, in one statement, nothing written', async () => {
      const id = stored(await store.requestCallback(request()));
      const now = new Date();
      await store.claim({ callbackId: id, instanceId: 'i1', agentId: 'a1', agentChannelId: 'ch-1', leaseMs: 60000, now });
      const log = logStatements(t.db);
      expect(await store.claim({ callbackId: id, instanceId: 'i2', agentId: 'a2', agentChannelId: 'ch-2', leaseMs: 60000, now })).to.equal(
        null,
      );
      expect(
        await store.claim({ callbackId: randomUUID(), instanceId: 'i2', agentId: 'a2', agentChannelId: 'ch-3', leaseMs: 60000, now }),
      ).to.equal(null);
      log.stop();
      expect(log.statements).to.have.length(2);
      expect(await count(t.db, 'callback_attempts')).to.equal(1);
    });

    it('20 concurrent claimers of one callback: exactly one wins, one attempt row', async () => {
      for (let round = 0; round < 5; round++) {
        const id = stored(await store.requestCallback(request({ customerNumber: `+1555100000${round}` })));
        const now = new Date();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            wideStore.claim({
              callbackId: id,
              instanceId: `i${i}`,
              agentId: `a${i}`,
              agentChannelId: `ch-${round}-${i}`,
              leaseMs: 60000,
              now,
            }),
          ),
        );
        expect(
          results.filter((r) => r !== null),
          `round ${round}`,
        ).to.have.length(1);
        expect(await store.attempts(id)).to.have.length(1);
      }
    });

    it('attempt numbers stay exact while claims race with attempts finishing', async () => {
      // Four workers claim one callback over and over; the winner finishes its attempt at once
      // (agent side, back to pending). A claim whose snapshot predates another's commit must
      // still number its attempt after it: numbers are 1..n without a gap or a repeat.
      const id = stored(await store.requestCallback(request()));
      let wins = 0;
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < 40; i++) {
            const c = await wideStore.claim({
              callbackId: id,
              instanceId: `w${w}`,
              agentId: `a${w}`,
              agentChannelId: `ch-${w}-${i}`,
              leaseMs: 60000,
              now: new Date(),
            });
            if (!c) continue;
            wins += 1;
            await wideStore.finishAttempt({
              attemptId: c.attempt.id,
              callbackId: id,
              outcome: 'agent_declined',
              nextStatus: 'pending',
              countsAsAttempt: false,
              now: new Date(),
            });
          }
        }),
      );
      const numbers = (await store.attempts(id)).map((a) => a.attemptNo);
      expect(numbers).to.have.length(wins);
      expect([...numbers].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: wins }, (_, i) => i + 1));
      expect((await store.attempts(id)).every((a) => a.endedAt !== null)).to.equal(true);
    });

    it('an expired lease is reclaimed through the transaction path, and numbering continues', async () => {
      const id = stored(await store.requestCallback(request()));
      const t0 = new Date('2026-11-24T12:00:00Z');
      const c1 = await store.claim({ callbackId: id, instanceId: 'lost', agentId: 'a1', agentChannelId: 'x1', leaseMs: 1000, now: t0 });
      const log = logStatements(t.db);
      const c2 = await store.claim({
        callbackId: id,
        instanceId: 'other',
        agentId: 'a2',
        agentChannelId: 'x2',
        leaseMs: 1000,
        now: new Date(t0.getTime() + 1500),
      });
      log.stop();
      expect(log.statements[0]).to.match(/^WITH p AS/);
      expect(log.statements[1]).to.equal('BEGIN;');
      expect(c2?.attempt.attemptNo).to.equal(2);
      expect((await store.attempts(id)).map((a) => [a.id, a.outcome])).to.deep.equal([
        [c1?.attempt.id, 'instance_lost'],
        [c2?.attempt.id, null],
      ]);
      await store.finishAttempt({
        attemptId: c2!.attempt.id,
        callbackId: id,
        outcome: 'busy',
        nextStatus: 'pending',
        countsAsAttempt: true,
        now: new Date(),
      });
      const c3 = await store.claim({
        callbackId: id,
        instanceId: 'other',
        agentId: 'a2',
        agentChannelId: 'x3',
        leaseMs: 1000,
        now: new Date(),
      });
      expect(c3?.attempt.attemptNo).to.equal(3);
    });

    it('the migration numbers on from the attempts made before it', async () => {
      // A database at schema 005 with two attempts on one callback, then migrated to the latest.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adc-sql-'));
      const server = await testPostgresServer();
      const scratch = await createScratchDatabase(server, 'adc_test');
      const db = createDatabase(scratch.url, { poolMax: 2 });
      try {
        for (const f of fs.readdirSync(SQL_DIR).filter((n) => n < '006')) fs.copyFileSync(path.join(SQL_DIR, f), path.join(dir, f));
        await migrate(db, dir);
        const id = randomUUID();
        await db('callback_requests').insert({
          id,
          queue_id: 'support',
          customer_number: '+15551234567',
          language: 'en',
          priority: 0,
          arrived_at: new Date(),
          max_attempts: 3,
        });
        await db('callback_attempts').insert(
          [1, 2].map((n) => ({
            callback_id: id,
            attempt_no: n,
            instance_id: 'old',
            agent_id: 'a',
            agent_channel_id: `old-${n}`,
            ended_at: new Date(),
            outcome: 'busy',
          })),
        );
        expect(await migrate(db)).to.deep.equal([
          '006_attempts_started.sql',
          '007_booking_limits.sql',
          '008_source_call_end.sql',
          '009_item_priority.sql',
          '010_report_indexes.sql',
          '011_group_booking.sql',
        ]);
        const c = await new CallbackStore(db).claim({
          callbackId: id,
          instanceId: 'new',
          agentId: 'a',
          agentChannelId: 'new-1',
          leaseMs: 60000,
          now: new Date(),
        });
        expect(c?.attempt.attemptNo).to.equal(3);
      } finally {
        await announcementsSent(db); // the claim's announcement, not cut off by the destroy
        await db.destroy();
        await scratch.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("the agent's 1 (accepted + customer dialled)", () => {
    it('marks both steps with the customer channel id and logs both events, in order, in one statement', async () => {
      const id = stored(await store.requestCallback(request()));
      const c = await store.claim({
        callbackId: id,
        instanceId: 'i',
        agentId: 'a1',
        agentChannelId: 'ag-1',
        leaseMs: 60000,
        now: new Date(),
      });
      const now = new Date('2026-11-24T12:30:00Z');
      const log = logStatements(t.db);
      await store.markAttemptSteps(c!.attempt.id, id, ['agent_accepted', 'customer_dialled'], {
        agentId: 'a1',
        customerChannelId: 'cust-1',
        now,
      });
      log.stop();
      expect(log.statements).to.have.length(1);
      const row = (await t.db('callback_attempts').where({ id: c!.attempt.id }).first()) as {
        agent_accepted_at: Date;
        customer_dialed_at: Date;
        customer_channel_id: string;
      };
      expect([row.agent_accepted_at.toISOString(), row.customer_dialed_at.toISOString(), row.customer_channel_id]).to.deep.equal([
        now.toISOString(),
        now.toISOString(),
        'cust-1',
      ]);
      const history = (await store.history(id)).slice(2);
      expect(history.map((h) => [h.type, h.agentId, h.detail, h.at.toISOString()])).to.deep.equal([
        ['agent_accepted', 'a1', {}, now.toISOString()],
        ['customer_dialled', 'a1', { customerChannelId: 'cust-1' }, now.toISOString()],
      ]);
    });

    it('one step (markAttempt) is one statement too', async () => {
      const id = stored(await store.requestCallback(request()));
      const c = await store.claim({
        callbackId: id,
        instanceId: 'i',
        agentId: 'a1',
        agentChannelId: 'ag-1',
        leaseMs: 60000,
        now: new Date(),
      });
      const log = logStatements(t.db);
      await store.markAttempt(c!.attempt.id, id, 'agent_answered', { agentId: 'a1', now: new Date() });
      log.stop();
      expect(log.statements).to.have.length(1);
      expect((await store.history(id)).map((h) => h.type)).to.deep.equal(['requested', 'offered_to_agent', 'agent_answered']);
    });
  });
});
