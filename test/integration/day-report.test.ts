import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Knex } from 'knex';
import { checkDayReportQuery, DayReport, readDayReport } from '../../src/store/day-report-queries';
import { AGENTS_SQL, CALLBACKS_SQL, CALLERS_SQL, CONVERSATIONS_SQL, LOAD_SQL, OFFERS_SQL } from '../../src/store/day-report-sql';
import { freshDatabase, TestDatabase } from '../helpers/database';

/**
 * The day report over a seeded day whose every count is known: callers answered, abandoned,
 * moved and booking a callback; callbacks completed, failed, expired and cancelled; direct
 * calls; and rows of the day before, the day after and another queue that must not count.
 */
const DAY = '2026-03-10';
const at = (h: number, m = 0, s = 0, day = 10): Date => new Date(Date.UTC(2026, 2, day, h, m, s));
const AFTER = at(12, 0, 0, 12);

class Seed {
  constructor(private readonly db: Knex) {}

  async entry(o: {
    queue: string;
    arrived: Date;
    closed?: Date;
    reason?: string;
    first?: { queue: string; arrived: Date };
    callbackId?: string;
    agent?: string;
  }): Promise<string> {
    const id = randomUUID();
    await this.db('queue_entries').insert({
      id,
      queue_id: o.queue,
      first_queue_id: o.first?.queue ?? o.queue,
      first_arrived_at: o.first?.arrived ?? o.arrived,
      priority: 0,
      arrived_at: o.arrived,
      asterisk_id: 'ast',
      channel_id: `ch-${id}`,
      app: 'direct-callback',
      instance_id: 'i1',
      closed_at: o.closed ?? null,
      close_reason: o.reason ?? null,
      callback_id: o.callbackId ?? null,
    });
    if (o.reason === 'connected' && o.agent && o.closed) await this.action(id, 'connected', o.closed, { agentId: o.agent });
    return id;
  }

  async action(entryId: string, action: string, when: Date, detail: Record<string, unknown> = {}): Promise<void> {
    await this.db('queue_entry_actions').insert({ entry_id: entryId, action, at: when, detail: JSON.stringify(detail) });
  }

  async callback(queue: string, requested: Date, status = 'pending'): Promise<string> {
    const id = randomUUID();
    await this.db('callback_requests').insert({
      id,
      queue_id: queue,
      customer_number: `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
      arrived_at: requested,
      requested_at: requested,
      status,
    });
    return id;
  }

  async event(callbackId: string, type: string, when: Date, detail: Record<string, unknown> = {}): Promise<void> {
    await this.db('callback_events').insert({ callback_id: callbackId, type, at: when, detail: JSON.stringify(detail) });
  }

  /** An attempt; with `bridged`, a conversation that completed the callback. */
  async attempt(callbackId: string, agent: string, started: Date, bridged?: Date): Promise<void> {
    const n = (await this.db('callback_attempts').where({ callback_id: callbackId }).count<{ n: string }[]>({ n: '*' }))[0]?.n ?? '0';
    await this.db('callback_attempts').insert({
      callback_id: callbackId,
      attempt_no: Number(n) + 1,
      instance_id: 'i1',
      agent_id: agent,
      agent_channel_id: `agent-${randomUUID()}`,
      started_at: started,
      bridged_at: bridged ?? null,
      ended_at: new Date((bridged ?? started).getTime() + 60_000),
      outcome: bridged ? 'answered' : 'customer_no_answer',
    });
    if (bridged) await this.event(callbackId, 'completed', bridged, { outcome: 'answered', reason: null });
  }

  async direct(agent: string, started: Date, outcome: string, answered?: Date): Promise<void> {
    await this.db('direct_calls').insert({
      channel_id: `direct-${randomUUID()}`,
      agent_id: agent,
      dialled: '2001',
      started_at: started,
      answered_at: answered ?? null,
      ended_at: new Date(started.getTime() + 120_000),
      outcome,
    });
  }
}

async function seedDay(db: Knex): Promise<void> {
  const s = new Seed(db);
  // support: answered within the service level, answered late, abandoned after an offer.
  await s.entry({ queue: 'support', arrived: at(9), closed: at(9, 0, 30), reason: 'connected', agent: 'a1' });
  await s.entry({ queue: 'support', arrived: at(9, 10), closed: at(9, 12), reason: 'connected', agent: 'a2' });
  const abandoned = await s.entry({ queue: 'support', arrived: at(9, 20), closed: at(9, 25), reason: 'caller_hung_up' });
  await s.action(abandoned, 'callback_offered', at(9, 21));
  // support: offered at 10:01, booked at 10:02, called back by a1 at 10:30.
  const cb1 = await s.callback('support', at(10, 2), 'completed');
  const booker = await s.entry({ queue: 'support', arrived: at(10), closed: at(10, 2), reason: 'callback_booked', callbackId: cb1 });
  await s.action(booker, 'callback_offered', at(10, 1));
  await s.attempt(cb1, 'a1', at(10, 29), at(10, 30));
  // Moved from sales to support by overflow: one caller, counted in support, waited 330 s.
  await s.entry({ queue: 'sales', arrived: at(11), closed: at(11, 5), reason: 'moved' });
  await s.entry({
    queue: 'support',
    arrived: at(11, 5),
    closed: at(11, 5, 30),
    reason: 'connected',
    agent: 'a1',
    first: { queue: 'sales', arrived: at(11) },
  });
  // Still waiting when the day ended.
  await s.entry({ queue: 'support', arrived: at(23, 30) });
  // Arrived the day before, waited into this day (10 minutes of hour 0): not a caller of the day.
  await s.entry({ queue: 'support', arrived: at(23, 50, 0, 9), closed: at(0, 10), reason: 'connected', agent: 'a2' });

  // support callbacks: failed twice for two reasons, cancelled, expired (requested the day before),
  // two conversations in hour 16, one still owed.
  const cb2 = await s.callback('support', at(12), 'failed');
  for (const m of [0, 20, 40]) await s.attempt(cb2, 'a2', at(13, m));
  await s.event(cb2, 'failed', at(14), { outcome: 'customer_no_answer', reason: 'max_attempts_reached: last customer_no_answer' });
  const cb3 = await s.callback('support', at(12, 30), 'failed');
  await s.event(cb3, 'failed', at(15), { reason: 'number_refused: premium' });
  const cb4 = await s.callback('support', at(13), 'cancelled');
  await s.event(cb4, 'cancelled', at(13, 30), { reason: 'customer called in' });
  const cb5 = await s.callback('support', at(20, 0, 0, 9), 'expired');
  await s.event(cb5, 'expired', at(8), { reason: 'max_age_reached' });
  const cb6 = await s.callback('support', at(16), 'completed');
  await s.attempt(cb6, 'a2', at(16, 9), at(16, 10));
  const cb7 = await s.callback('support', at(16, 20), 'completed');
  await s.attempt(cb7, 'a1', at(16, 49), at(16, 50));
  await s.callback('support', at(17));

  // sales: one caller answered in 10 s, one callback completed in 5 minutes.
  await s.entry({ queue: 'sales', arrived: at(9, 5), closed: at(9, 5, 10), reason: 'connected', agent: 'a3' });
  const cbS = await s.callback('sales', at(10), 'completed');
  await s.attempt(cbS, 'a3', at(10, 4), at(10, 5));

  // Direct calls: a1 answered in 10 s; a2 unavailable, the caller declined the callback offer.
  await s.direct('a1', at(14), 'answered', at(14, 0, 10));
  await s.direct('a2', at(14, 30), 'callback_declined');

  // The day after: none of it counts.
  await s.entry({ queue: 'support', arrived: at(9, 0, 0, 11), closed: at(9, 0, 5, 11), reason: 'connected', agent: 'a1' });
  const next = await s.callback('support', at(9, 0, 0, 11), 'completed');
  await s.attempt(next, 'a1', at(9, 1, 0, 11), at(9, 2, 0, 11));
  await s.direct('a1', at(9, 0, 0, 11), 'answered', at(9, 0, 5, 11));
}

describe('day report (real PostgreSQL)', () => {
  let t: TestDatabase;
  let report: DayReport;

  before(async () => {
    t = await freshDatabase();
    await seedDay(t.db);
    report = await readDayReport(t.db, { date: DAY, timeZone: 'UTC', serviceLevelSec: 60, now: AFTER.getTime() });
  });
  after(async () => t.close());

  const queue = (r: DayReport, id: string) => {
    const q = r.queues.find((x) => x.queueId === id);
    if (!q) throw new Error(`no queue ${id} in the report`);
    return q;
  };

  it("counts one queue's day exactly, the day before and after and the other queue left out", () => {
    const s = queue(report, 'support');
    expect({ ...s, hours: undefined }).to.deep.equal({
      queueId: 'support',
      hours: undefined,
      callersEntered: 6,
      callsAnswered: 3,
      abandoned: 1,
      offersMade: 2,
      offersAccepted: 1,
      callbacksRequested: 7,
      callbacksCompleted: 3,
      callbacksCancelled: 1,
      callbacksFailed: 3,
      failedReasons: { max_attempts_reached: 1, number_refused: 1, max_age_reached: 1 },
      serviceLevel: { withinSec: 60, eligible: 5, met: 1, share: 0.2 },
    });
    const sales = queue(report, 'sales');
    expect([sales.callersEntered, sales.callsAnswered, sales.callbacksRequested, sales.callbacksCompleted]).to.deep.equal([1, 1, 1, 1]);
    expect(sales.serviceLevel).to.deep.equal({ withinSec: 60, eligible: 1, met: 1, share: 1 });
  });

  it('totals every queue, direct calls included in direct:<agent>', () => {
    expect(report.queues.map((q) => q.queueId)).to.deep.equal(['direct:a1', 'direct:a2', 'sales', 'support']);
    expect(queue(report, 'direct:a2').offersMade).to.equal(1);
    const t0 = report.total;
    expect([t0.callersEntered, t0.callsAnswered, t0.abandoned, t0.offersMade, t0.offersAccepted]).to.deep.equal([9, 5, 1, 3, 1]);
    expect([t0.callbacksRequested, t0.callbacksCompleted, t0.callbacksCancelled, t0.callbacksFailed]).to.deep.equal([8, 4, 1, 3]);
    expect(t0.serviceLevel).to.deep.equal({ withinSec: 60, eligible: 7, met: 3, share: 3 / 7 });
  });

  it("each agent's calls, direct calls and callbacks of the day", () => {
    expect(report.agents).to.deep.equal([
      { agentId: 'a1', calls: 2, directCalls: 1, callbacks: 2 },
      { agentId: 'a2', calls: 2, directCalls: 0, callbacks: 1 },
      { agentId: 'a3', calls: 1, directCalls: 0, callbacks: 1 },
    ]);
  });

  it('per hour: request to conversation (median, p90), callers waiting and callbacks owed', () => {
    const s = queue(report, 'support');
    expect(s.hours).to.have.length(24);
    expect(s.hours[16]).to.include({ conversations: 2, requestToConversationMedianSec: 1200, requestToConversationP90Sec: 1680 });
    expect(s.hours[10]).to.include({ conversations: 1, requestToConversationMedianSec: 1680 });
    // Every queue: support's 1680 s and sales' 300 s in hour 10.
    expect(report.hours[10]).to.include({ conversations: 2, requestToConversationMedianSec: 990, requestToConversationP90Sec: 1542 });
    expect(s.hours[11]?.requestToConversationMedianSec).to.equal(null);
    // Waiting: hour 0 the caller from the day before (600 s), hour 9 three callers (30 + 120 + 300 s).
    expect(s.hours[0]?.callersWaiting).to.be.closeTo(600 / 3600, 1e-9);
    expect(s.hours[9]?.callersWaiting).to.be.closeTo(450 / 3600, 1e-9);
    expect(s.hours[9]?.callersWaitingAtEnd).to.equal(0);
    expect(s.hours[23]).to.include({ callersWaiting: 0.5, callersWaitingAtEnd: 1 });
    // Owed: cb5 (from the day before) until 08:00; cb2, cb3 and half an hour of cb4 in hour 13,
    // of which only cb3 at 14:00 (cb2 failed at 14:00 sharp).
    expect(s.hours[6]?.callbacksOwedAtEnd).to.equal(1);
    expect(s.hours[7]?.callbacksOwedAtEnd).to.equal(0);
    expect(s.hours[13]).to.include({ callbacksOwed: 2.5, callbacksOwedAtEnd: 1 });
    expect(s.hours[23]?.callbacksOwedAtEnd).to.equal(1);
    expect(s.hours[0]?.label).to.equal('00:00');
    expect(s.hours[0]?.start).to.equal('2026-03-10T00:00:00.000Z');
  });

  it('one queue asked for: only its figures, its agents, and the queue listed even with nothing', async () => {
    const r = await readDayReport(t.db, { date: DAY, queueId: 'support', now: AFTER.getTime() });
    expect(r.queues.map((q) => q.queueId)).to.deep.equal(['support']);
    expect(r.total.callersEntered).to.equal(6);
    expect(r.agents).to.deep.equal([
      { agentId: 'a1', calls: 2, directCalls: 0, callbacks: 2 },
      { agentId: 'a2', calls: 2, directCalls: 0, callbacks: 1 },
    ]);
    const none = await readDayReport(t.db, { date: DAY, queueId: 'billing', now: AFTER.getTime() });
    expect(none.queues.map((q) => [q.queueId, q.callersEntered])).to.deep.equal([['billing', 0]]);
    expect(none.total.serviceLevel.share).to.equal(null);
  });

  it('a longer service level threshold counts the late answers as met', async () => {
    const r = await readDayReport(t.db, { date: DAY, queueId: 'support', serviceLevelSec: 3600, now: AFTER.getTime() });
    // Answered in 30 s, 120 s, 330 s, and called back 30 minutes after arriving at 10:00.
    expect(r.total.serviceLevel).to.deep.equal({ withinSec: 3600, eligible: 5, met: 4, share: 0.8 });
  });

  it('the day in a time zone: local midnight to midnight, 23 hours on the spring-forward day', async () => {
    const r = await readDayReport(t.db, { date: '2026-03-08', timeZone: 'America/New_York', now: AFTER.getTime() });
    expect([r.from, r.to]).to.deep.equal(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']);
    expect(r.hours.map((h) => h.label).slice(0, 4)).to.deep.equal(['00:00', '01:00', '03:00', '04:00']);
    expect(r.hours).to.have.length(23);
    // In Paris, 2026-03-10 starts at 23:00 UTC the day before: the caller of 23:50 (UTC, 9 March) is one of its callers.
    const paris = await readDayReport(t.db, { date: DAY, timeZone: 'Europe/Paris', queueId: 'support', now: AFTER.getTime() });
    expect(paris.from).to.equal('2026-03-09T23:00:00.000Z');
    expect(paris.total.callersEntered).to.equal(6);
    expect(paris.total.callsAnswered).to.equal(4);
  });

  it('refuses a malformed date and an unknown time zone', () => {
    expect(() => checkDayReportQuery({ date: '2026-02-30' })).to.throw(/^date:/);
    expect(() => checkDayReportQuery({ date: '10/03/2026' })).to.throw(/^date:/);
    expect(() => checkDayReportQuery({ date: DAY, timeZone: 'Mars/Olympus' })).to.throw(/^timeZone:/);
  });

  it('every statement reads its tables through an index (no sequential scan when scans are off)', async () => {
    const b = { from: at(0), to: at(0, 0, 0, 11), now: AFTER, queue: null, sl: 60, hours: 24 };
    for (const [name, sql] of Object.entries({ CALLERS_SQL, OFFERS_SQL, CALLBACKS_SQL, LOAD_SQL, CONVERSATIONS_SQL, AGENTS_SQL })) {
      const plan = await t.db.transaction(async (tx) => {
        await tx.raw('SET LOCAL enable_seqscan = off');
        const r = await tx.raw<{ rows: { 'QUERY PLAN': string }[] }>(`EXPLAIN ${sql}`, b);
        return r.rows.map((x) => x['QUERY PLAN']).join('\n');
      });
      expect(plan, `${name}\n${plan}`).not.to.match(/Seq Scan/);
    }
  });
});
