import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import knexFactory from 'knex';
import { Client } from 'pg';
import { CallMilestone } from '../../src/calls/call-context';
import { advisoryKey } from '../../src/cluster/leadership';
import { DB_CACHE_MS, MetricsSource, PluginMetrics } from '../../src/metrics/metrics';
import { CallbackStore } from '../../src/store/callback-store';
import { callbackRequest } from '../helpers/callback-request';
import { freshDatabase, TestDatabase } from '../helpers/database';

/**
 * The metrics the Grafana dashboard and the alert rules need beyond the live figures:
 * request-to-conversation (observed when a callback is bridged), the callback owed longest per
 * queue, whether each standby group has a leader, and the metrics' own failed database reads.
 */
describe('metrics for the dashboard and the alerts (real PostgreSQL)', () => {
  let t: TestDatabase;
  let store: CallbackStore;
  let now = Date.parse('2026-11-24T10:30:00Z');
  let emit: (name: CallMilestone, data: Record<string, unknown>) => void = () => undefined;
  let metrics: PluginMetrics;

  const source = (): MetricsSource => ({
    now: () => now,
    queueIds: () => [],
    queueFigures: () => undefined,
    estimatedWaitSec: () => 0,
    onMilestone: (listener) => {
      emit = listener;
      return () => undefined;
    },
    callbacks: store,
  });
  const line = async (m: PluginMetrics, prefix: string): Promise<string | undefined> =>
    (await m.text()).split('\n').find((l) => l.startsWith(prefix));

  before(async () => {
    t = await freshDatabase();
    store = new CallbackStore(t.db);
    metrics = new PluginMetrics({ app: { admin: source() }, db: t.db, isAriConnected: () => true });
  });
  after(async () => {
    metrics.stop();
    await t.close();
  });

  it('request to conversation: observed when the callback is bridged, from its request time', async () => {
    const booked = await store.requestCallback(callbackRequest({ customerNumber: '+15551230101' }));
    if (booked.kind !== 'stored') throw new Error(booked.kind);
    now = booked.callback.requestedAt.getTime() + 300_000;
    emit('bridged', { callbackId: booked.callback.id, bridgeId: 'b1' });
    const count = 'direct_callback_request_to_conversation_seconds_count{queue="support"}';
    for (let i = 0; i < 50 && !(await line(metrics, count)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await line(metrics, count)).to.equal(`${count} 1`);
    expect(await line(metrics, 'direct_callback_request_to_conversation_seconds_sum{queue="support"}')).to.match(/ 300(\.\d+)?$/);
    // 300 s: in the 300 s bucket, not in the 120 s one.
    expect(await line(metrics, 'direct_callback_request_to_conversation_seconds_bucket{le="300",queue="support"}')).to.match(/ 1$/);
    expect(await line(metrics, 'direct_callback_request_to_conversation_seconds_bucket{le="120",queue="support"}')).to.match(/ 0$/);
  });

  it('the callback owed longest per queue: since its request, or its scheduled time; one not yet due is not owed', async () => {
    // Forward from the clock so far: the metrics' cache of database figures is then stale.
    const base = now + 3600_000;
    const row = (n: string, requested: number, arrived: number, notBefore: number | null, status = 'pending') => ({
      id: randomUUID(),
      queue_id: 'billing',
      customer_number: n,
      requested_at: new Date(requested),
      arrived_at: new Date(arrived),
      not_before: notBefore === null ? null : new Date(notBefore),
      status,
    });
    now = base + 600_000;
    await t.db('callback_requests').insert([
      // A caller's booking: arrived 10 minutes before asking; owed since the request.
      row('+15551230102', base, base - 600_000, null),
      // Scheduled for tomorrow: not owed yet, however long ago it was asked for.
      row('+15551230103', base - 7200_000, base - 7200_000, base + 86400_000),
      // Scheduled for 5 minutes after base, due now: owed since then, not since it was asked for.
      row('+15551230104', base - 10800_000, base + 300_000, base + 300_000),
      // Closed long ago: not owed.
      row('+15551230105', base - 86400_000, base - 86400_000, null, 'completed'),
    ]);
    expect(await line(metrics, 'direct_callback_oldest_owed_callback_age_seconds{queue="billing"}')).to.equal(
      'direct_callback_oldest_owed_callback_age_seconds{queue="billing"} 600',
    );
  });

  it('a standby group leads while a session holds its lock, and not after the leader is gone', async () => {
    await t.db('leadership').insert({ group_key: 'ast1/direct-callback', term: 1, holder: 'i1' });
    const leader = new Client({ connectionString: t.url });
    await leader.connect();
    try {
      await leader.query('SELECT pg_advisory_lock($1::bigint)', [advisoryKey('ast1/direct-callback')]);
      now += DB_CACHE_MS + 1;
      expect(await line(metrics, 'direct_callback_standby_group_leader{group="ast1/direct-callback"}')).to.match(/ 1$/);
    } finally {
      await leader.end();
    }
    now += DB_CACHE_MS + 1;
    expect(await line(metrics, 'direct_callback_standby_group_leader{group="ast1/direct-callback"}')).to.match(/ 0$/);
  });

  it("counts the metrics' failed database reads", async () => {
    const unreachable = knexFactory({
      client: 'pg',
      connection: `${t.url}_does_not_exist`,
      acquireConnectionTimeout: 2000,
      // Its connection errors are the point of the test, not news for the console.
      log: { error: () => undefined, warn: () => undefined },
    });
    const m = new PluginMetrics({
      app: { admin: { ...source(), onMilestone: () => () => undefined } },
      db: unreachable,
      isAriConnected: () => true,
    });
    try {
      const errors = async (): Promise<number> => Number((await line(m, 'direct_callback_db_read_errors_total '))?.split(' ')[1]);
      expect(await errors()).to.equal(0);
      for (let i = 0; i < 100 && (await errors()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      // The scrape still answers, and the failure is counted (each scrape of a stale cache tries once).
      expect(await errors()).to.be.at.least(1);
    } finally {
      m.stop();
      await unreachable.destroy();
    }
  });

  it('a random callback id that is not stored observes nothing', async () => {
    emit('bridged', { callbackId: randomUUID() });
    await new Promise((r) => setTimeout(r, 100));
    expect(await line(metrics, 'direct_callback_request_to_conversation_seconds_count{queue="support"}')).to.match(/ 1$/);
  });
});
