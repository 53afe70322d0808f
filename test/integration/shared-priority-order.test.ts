import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { QueueOrder } from '../../src/domain/queue-order';
import { WorkItem } from '../../src/domain/work-item';
import { RunningPlugin } from '../../src/plugin';
import { CallbackStore } from '../../src/store/callback-store';
import { NewQueueEntry, QueueEntryStore } from '../../src/store/queue-entry-store';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { storyConfig } from '../../tools/support/story-config';
import { freshDatabase, TestDatabase } from '../helpers/database';
import { sleep, startPluginBox } from '../helpers/plugin-harness';

/**
 * The shared order in PostgreSQL uses priority: several plugin processes keep one order, priority
 * first, then original arrival, then the shared seq. The view queue_order (sql/009) and each
 * instance's in-memory order agree; a callback keeps its caller's priority, arrival and seq.
 */
const T0 = Date.parse('2026-12-01T10:00:00Z');

describe('integration: the shared order in PostgreSQL uses priority', function () {
  this.timeout(60000);
  let t: TestDatabase;
  const sims: AriSimulator[] = [];
  const plugins: RunningPlugin[] = [];

  beforeEach(async () => {
    t = await freshDatabase();
  });
  afterEach(async () => {
    for (const p of plugins.splice(0)) await p.stop().catch(() => undefined);
    for (const s of sims.splice(0)) await s.stop();
    await t.close();
  });

  const entry = (
    over: Partial<NewQueueEntry> & { channelId: string; asteriskId: string; priority: number; arrivedAt: Date },
  ): NewQueueEntry => ({
    id: randomUUID(),
    queueId: 'support',
    app: 'direct-callback',
    channelCreatedAt: null,
    instanceId: over.asteriskId === 'ast-a' ? 'box-a' : 'box-b',
    routeId: null,
    callerNumber: null,
    callerName: null,
    language: null,
    ...over,
  });

  it('callers of two instances and callbacks: one order, priority first; a callback keeps its caller’s place', async () => {
    const entries = new QueueEntryStore(t.db);
    const store = new CallbackStore(t.db);
    const n1 = await entries.open(entry({ channelId: 'a-1', asteriskId: 'ast-a', priority: 0, arrivedAt: new Date(T0 + 100) }));
    const n2 = await entries.open(entry({ channelId: 'a-2', asteriskId: 'ast-a', priority: 0, arrivedAt: new Date(T0 + 300) }));
    const vip = await entries.open(
      entry({ channelId: 'b-1', asteriskId: 'ast-b', priority: 10, arrivedAt: new Date(T0 + 400), routeId: 'vip' }),
    );
    // n1 presses 1: the callback takes n1's priority, arrival and seq; n1's place is closed.
    const booked = await store.requestCallback({
      id: randomUUID(),
      queueId: 'support',
      customerNumber: '+15557770001',
      language: 'en',
      priority: n1.priority,
      arrivedAt: n1.arrivedAt,
      seq: n1.seq,
      maxAttempts: 3,
    });
    if (booked.kind !== 'stored') throw new Error(booked.kind);
    await entries.close(n1.id, 'callback_booked', { callbackId: booked.callback.id });
    // An API callback with an explicit priority 5, requested last.
    const api = await store.requestCallback({
      id: randomUUID(),
      queueId: 'support',
      customerNumber: '+15557770002',
      language: 'en',
      priority: 5,
      arrivedAt: new Date(T0 + 500),
      maxAttempts: 3,
    });
    if (api.kind !== 'stored') throw new Error(api.kind);

    const shared = await entries.openOrder('support');
    expect(shared.map((i) => [i.position, i.kind, i.id, i.priority])).to.deep.equal([
      [1, 'caller', vip.id, 10],
      [2, 'callback', api.callback.id, 5],
      [3, 'callback', booked.callback.id, 0],
      [4, 'caller', n2.id, 0],
    ]);
    expect(shared[0]?.routeId).to.equal('vip');

    // Every instance rebuilds its order from the stored rows: the same order as the view's.
    const items: WorkItem[] = [
      ...(await entries.listOpen()).map((e) => ({
        id: e.id,
        queueId: e.queueId,
        kind: 'caller' as const,
        priority: e.priority,
        arrivedAt: e.arrivedAt.getTime(),
        seq: e.seq,
      })),
      ...(await store.listOpen()).map((c) => ({
        id: c.id,
        queueId: c.queueId,
        kind: 'callback' as const,
        priority: c.priority,
        arrivedAt: c.arrivedAt.getTime(),
        seq: c.seq,
      })),
    ];
    expect(new QueueOrder(items).items().map((i) => i.id)).to.deep.equal(shared.map((i) => i.id));
    // The callback is where n1 was: its seq is n1's.
    expect(booked.callback.seq).to.equal(n1.seq);
  });

  it('an adopted caller’s stored place keeps its arrival and seq; its priority follows the holder’s', async () => {
    const entries = new QueueEntryStore(t.db);
    const first = await entries.open(entry({ channelId: 'a-9', asteriskId: 'ast-a', priority: 0, arrivedAt: new Date(T0) }));
    // Adopted by a process whose route now gives the caller 10: every instance must order it so.
    const again = await entries.open(
      entry({ channelId: 'a-9', asteriskId: 'ast-a', priority: 10, arrivedAt: new Date(T0 + 60000), instanceId: 'box-c' }),
    );
    expect([again.id, again.seq, again.arrivedAt.getTime(), again.priority, again.instanceId]).to.deep.equal([
      first.id,
      first.seq,
      T0,
      10,
      'box-c',
    ]);
  });

  it('two plugin processes on two Asterisk servers: a route=vip caller arriving last is first in both orders', async () => {
    const start = async (name: string, entity: string, agent: [string, string, string]) => {
      const box = await startPluginBox({
        instanceId: name,
        asteriskId: entity,
        config: {
          ...storyConfig({
            agents: [agent],
            queue: { offer: { initialDelaySec: 30, intervalSec: 30, thresholdPosition: 0 }, wrapUpSec: 0 },
            callback: { syncIntervalSec: 60 },
          }),
          routes: { vip: { priority: 10 } },
        },
        databaseUrl: t.url,
        busyEndpoints: [agent[2]],
      });
      sims.push(box.sim);
      plugins.push(box.plugin);
      return box;
    };
    const a = await start('box-a', '02:aa:00:00:00:01', ['ann', 'Ann', 'PJSIP/2001']);
    const b = await start('box-b', '02:bb:00:00:00:02', ['bob', 'Bob', 'PJSIP/2002']);
    const normal = a.sim.call({ from: '+15550000201', to: 'queue:support' });
    await normal.entered();
    await normal.waitFor('mohOn', 3000);
    await sleep(300);
    const vip = b.sim.call({ from: '+15550000202', to: 'queue:support', args: ['queue', 'support', 'route=vip'] });
    await vip.entered();
    await vip.waitFor('mohOn', 3000);
    const waitingOn = (box: typeof a) => box.plugin.app.queueSnapshot('support')?.waiting ?? 0;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (waitingOn(a) < 2 || waitingOn(b) < 2)) await sleep(20);
    for (const box of [a, b]) expect(box.plugin.app.queueSnapshot('support')?.items.map((i) => i.priority)).to.deep.equal([10, 0]);
    // A's order holds B's VIP (a remote caller) ahead of A's own earlier caller, as B's does.
    expect(a.plugin.app.queueSnapshot('support')?.items[1]?.id).to.equal(normal.id);
    expect(b.plugin.app.queueSnapshot('support')?.items[0]?.id).to.equal(vip.id);
    const shared = await new QueueEntryStore(t.db).openOrder('support');
    expect(shared.map((i) => [i.priority, i.routeId])).to.deep.equal([
      [10, 'vip'],
      [0, null],
    ]);
    normal.hangup();
    vip.hangup();
    await sleep(300);
  });
});
