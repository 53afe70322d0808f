import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { QueueEntryStore } from '../../src/store/queue-entry-store';
import { bookCallback, queueConfig, startRig, useRig } from '../helpers/plugin-harness';

/**
 * Priority per route (routes.<id>.priority), end to end on the ARI simulator: a caller entering
 * with `route=vip` is placed by the route's priority, its stored place and any callback it books
 * carry that priority, and one agent serves the queue in priority, then original arrival.
 */
describe('e2e: priority per route', function () {
  this.timeout(30000);
  const rigs = useRig();
  const vipConfig = () => ({ ...queueConfig({ wrapUpSec: 0 }), routes: { vip: { priority: 10 } } });

  it('a route=vip caller arriving last is served first; a callback booked by an earlier normal caller before later normal callers', async () => {
    const r = rigs.set(await startRig({ config: vipConfig() }));
    // Normal caller A books a callback (and hangs up); normal B waits; VIP C arrives last.
    const cbId = await bookCallback(r, '+15556660001');
    const b = r.sim.call({ from: '+15556660002', to: 'queue:support' });
    await b.entered();
    await r.waitForMilestone('caller_entered', (d) => d.channelId === b.id);
    const c = r.sim.call({ from: '+15556660003', to: 'queue:support', args: ['queue', 'support', 'route=vip'] });
    await c.entered();
    await r.waitForMilestone('caller_entered', (d) => d.channelId === c.id);

    // The order, and the priority that makes it, as the engine and the shared state hold it.
    const snap = r.plugin.app.queueSnapshot('support');
    expect(snap?.items.map((i) => [i.id, i.kind, i.priority])).to.deep.equal([
      [c.id, 'caller', 10],
      [cbId, 'callback', 0],
      [b.id, 'caller', 0],
    ]);
    expect((await r.store.get(cbId))?.priority).to.equal(0);
    const shared = await new QueueEntryStore(r.database.db).openOrder('support');
    expect(shared.map((i) => [i.kind, i.priority, i.routeId])).to.deep.equal([
      ['caller', 10, 'vip'],
      ['callback', 0, null],
      ['caller', 0, null],
    ]);

    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    // 1st: the VIP, although it arrived last.
    const leg1 = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(leg1.displayedCaller.number).to.equal('+15556660003');
    leg1.answer();
    await r.waitForMilestone('caller_connected', (d) => d.channelId === c.id);
    leg1.hangup();
    await c.waitFor('hungup', 5000);
    // 2nd: the callback A booked, although B is live and waiting.
    const leg2 = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(leg2.displayedCaller.name).to.equal('CB +15556660001');
    leg2.answer();
    await leg2.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    await leg2.pressDtmf('2');
    await leg2.waitFor('hungup', 5000);
    expect(r.milestones.some((m) => m.name === 'caller_connected' && m.data.channelId === b.id)).to.equal(false);
    // Skipped by the agent, the callback keeps its place ahead of B.
    expect(r.plugin.app.queueSnapshot('support')?.items.map((i) => i.id)).to.deep.equal([cbId, b.id]);
  });

  it("a VIP's callback keeps the VIP's priority and arrival: ahead of earlier normal callers, never more", async () => {
    const r = rigs.set(await startRig({ config: vipConfig() }));
    const a = r.sim.call({ from: '+15556670001', to: 'queue:support' });
    await a.entered();
    await r.waitForMilestone('caller_entered', (d) => d.channelId === a.id);
    const vip = r.sim.call({ from: '+15556670002', to: 'queue:support', args: ['queue', 'support', 'route=vip'] });
    await vip.entered();
    await vip.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    const vipArrival = r.plugin.app.queueSnapshot('support')?.items.find((i) => i.id === vip.id)?.arrivedAt;
    await vip.pressDtmf('1');
    await vip.waitFor('hungup', 5000);
    const [cb] = await r.store.listOpen();
    expect([cb?.customerNumber, cb?.priority, cb?.routeId, cb?.arrivedAt.getTime()]).to.deep.equal(['+15556670002', 10, 'vip', vipArrival]);
    const items = r.plugin.app.queueSnapshot('support')?.items ?? [];
    expect(items.map((i) => [i.kind, i.priority])).to.deep.equal([
      ['callback', 10],
      ['caller', 0],
    ]);
  });

  it('an unknown route is logged and the queue priority applies', async () => {
    const r = rigs.set(await startRig({ config: vipConfig() }));
    const x = r.sim.call({ from: '+15556680001', to: 'queue:support', args: ['queue', 'support', 'route=gold'] });
    await x.entered();
    await r.waitForMilestone('caller_entered', (d) => d.channelId === x.id);
    expect(r.plugin.app.queueSnapshot('support')?.items.map((i) => i.priority)).to.deep.equal([0]);
    expect(r.logLines.some((l) => l.includes('unknown route in Stasis arguments'))).to.equal(true);
  });
});
