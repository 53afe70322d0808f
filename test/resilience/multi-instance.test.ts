import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Knex } from 'knex';
import { CallbackStore } from '../../src/store/callback-store';
import { createDatabase } from '../../src/store/database';
import { freshDatabase, TestDatabase } from '../helpers/database';

/**
 * Several instances on one PostgreSQL: a store-level race. 3,000 pending callbacks; three
 * "instances" (each its own connection pool and CallbackStore, four concurrent dispatch workers
 * each) all read the head of the queue and race to claim() the same callbacks, "dial" what they
 * claimed, and finish the attempt as completed. Each callback must be claimed and dialled exactly
 * once. (Full call flows for 10,000 callbacks are what `npm run bench` measures; this is the
 * exclusion property, with the real SQL: FOR UPDATE SKIP LOCKED and leases.)
 */
// 3,000 keep every claim contended (each instance reads the same head of 32) and take ~20 s on
// 2 cores; 10,000 proved nothing more and outlasted CI's patience on a loaded machine.
const CALLBACKS = 3000;
const INSTANCES = 3;
const WORKERS = 4;

describe('resilience: several instances on one PostgreSQL', function () {
  this.timeout(120000);
  let database: TestDatabase | undefined;
  const pools: Knex[] = [];

  after(async () => {
    for (const p of pools) await p.destroy();
    await database?.close();
  });

  it(`${INSTANCES} instances race for ${CALLBACKS} callbacks: every callback dialled exactly once`, async () => {
    database = await freshDatabase();
    const db = database.db;
    const t0 = Date.now();
    const rows = Array.from({ length: CALLBACKS }, (_, i) => ({
      id: randomUUID(),
      queue_id: 'support',
      customer_number: `+1555${String(i).padStart(7, '0')}`,
      language: 'en',
      priority: 0,
      arrived_at: new Date(t0 - CALLBACKS + i),
      max_attempts: 3,
    }));
    await db.batchInsert('callback_requests', rows, 1000);
    const dials = new Map<string, string[]>();
    let claimsRefused = 0;
    const instance = async (n: number): Promise<void> => {
      const pool = createDatabase(database!.url, { poolMax: WORKERS });
      pools.push(pool);
      const store = new CallbackStore(pool);
      const instanceId = `instance-${n}`;
      for (;;) {
        // Every instance looks at the same head of the queue: maximum contention.
        const head = await pool('callback_requests')
          .where('status', 'pending')
          .orderBy([{ column: 'priority', order: 'desc' }, 'arrived_at', 'id'])
          .limit(WORKERS * 8)
          .select<{ id: string }[]>('id');
        if (head.length === 0) return;
        const ids = head.map((h) => h.id);
        await Promise.all(
          Array.from({ length: WORKERS }, async (_, w) => {
            for (let i = w; i < ids.length; i += WORKERS) {
              const id = ids[i];
              const now = new Date();
              const claimed = await store.claim({
                callbackId: id,
                instanceId,
                agentId: `agent-${n}-${w}`,
                agentChannelId: `chan-${randomUUID()}`,
                leaseMs: 60000,
                now,
              });
              if (!claimed) {
                claimsRefused += 1;
                continue;
              }
              dials.set(id, [...(dials.get(id) ?? []), instanceId]); // the customer leg
              await store.finishAttempt({
                attemptId: claimed.attempt.id,
                callbackId: id,
                outcome: 'answered',
                nextStatus: 'completed',
                countsAsAttempt: true,
                reason: 'bridged',
                now: new Date(),
              });
            }
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: INSTANCES }, (_, n) => instance(n)));
    const elapsed = Date.now() - t0;
    const twice = [...dials.entries()].filter(([, who]) => who.length !== 1);
    expect(twice, 'callbacks dialled more than once').to.deep.equal([]);
    expect(dials.size).to.equal(CALLBACKS);
    const perInstance = new Map<string, number>();
    for (const [, who] of dials) perInstance.set(who[0], (perInstance.get(who[0]) ?? 0) + 1);
    expect(perInstance.size, 'every instance took part').to.equal(INSTANCES);
    const status = (
      await db('callback_requests').select('status').count<{ status: string; n: string }[]>({ n: '*' }).groupBy('status')
    ).map((r) => [r.status, Number(r.n)]);
    expect(status).to.deep.equal([['completed', CALLBACKS]]);
    const attempts = (await db('callback_attempts')
      .select('callback_id')
      .count<{ callback_id: string; n: string }[]>({ n: '*' })
      .groupBy('callback_id')
      .havingRaw('count(*) <> 1')) as unknown[];
    expect(attempts, 'exactly one attempt row per callback').to.deep.equal([]);
    process.stderr.write(
      `      (${CALLBACKS} callbacks, ${INSTANCES} instances x ${WORKERS} workers: ${elapsed} ms, ${claimsRefused} claims refused, per instance ${JSON.stringify(Object.fromEntries(perInstance))})\n`,
    );
  });
});
