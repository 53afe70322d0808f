import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { bookCallback, queueConfig, startRig, sleep, useRig } from '../helpers/plugin-harness';

/** Call stories for the callback policies (issue 5): retries, customer-first. */



describe('e2e: callback policies', function () {
  this.timeout(40000);
  const rigs = useRig();

  it('three failed attempts end the callback as failed, each attempt and its cause stored', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ maxAttempts: 3, retryMinGapSec: 0 }) }));
    const r = rig;
    const id = await bookCallback(r, '+15558880001');
    r.sim.endpoint('PJSIP/1001').answersAfter(30);
    r.sim.endpoint('PJSIP/15558880001@trunk').busy();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    for (let i = 0; i < 3; i++) {
      const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
      await leg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
      await leg.pressDtmf('1');
      await leg.waitForPlayback((m) => m === PROMPTS.customerBusy, 5000);
      await leg.waitFor('hungup', 5000);
    }
    await sleep(300);
    const cb = await r.store.get(id);
    expect([cb?.status, cb?.attempts]).to.deep.equal(['failed', 3]);
    expect(cb?.outcomeReason).to.match(/max_attempts_reached: last busy/);
    expect((await r.store.attempts(id)).map((a) => [a.outcome, a.cause])).to.deep.equal([
      ['busy', 17],
      ['busy', 17],
      ['busy', 17],
    ]);
    await sleep(1200);
    expect(r.sim.endpoint('PJSIP/1001').legs, 'no fourth attempt').to.have.length(3);
    expect(r.plugin.app.queueSnapshot('support')?.callbacks).to.equal(0);
  });

  it('retries keep the minimum gap between attempts', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ maxAttempts: 3, retryMinGapSec: 2 }) }));
    const r = rig;
    await bookCallback(r, '+15558880002');
    r.sim.endpoint('PJSIP/1001').answersAfter(30);
    r.sim.endpoint('PJSIP/15558880002@trunk').busy();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const first = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    await first.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    await first.pressDtmf('1');
    await first.waitFor('hungup', 5000);
    const endedAt = Date.now();
    const second = await r.sim.endpoint('PJSIP/1001').nextLeg(6000);
    expect(Date.now() - endedAt).to.be.greaterThan(1500);
    expect(second.displayedCaller.name).to.equal('CB +15558880002');
  });

  it('customer-first: the customer is dialled first, presses 1, then the free agent is connected', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ mode: 'customer-first' }) }));
    const r = rig;
    const id = await bookCallback(r, '+15558880003');
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/15558880003@trunk').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const customer = await r.sim.endpoint('PJSIP/15558880003@trunk').nextLeg(5000);
    expect(customer.displayedCaller).to.deep.include({ number: '5550100', name: 'Support Callback' });
    expect(r.sim.endpoint('PJSIP/1001').legs, 'no agent leg before the customer confirms').to.have.length(0);
    customer.answer();
    await customer.waitForPlayback((m) => m === PROMPTS.guard, 3000);
    await customer.pressDtmf('1');
    await customer.waitFor('mohOn', 3000);
    const agent = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(agent.displayedCaller.name).to.equal('CB +15558880003');
    agent.answer();
    await r.waitForMilestone('bridged', (d) => d.callbackId === id, 5000);
    const mixing = r.sim.bridges().filter((b) => b.bridge_type === 'mixing');
    expect([...(mixing[0]?.channels ?? [])].sort()).to.deep.equal([customer.id, agent.id].sort());
    await r.waitForMilestone('callback_completed', (d) => d.callbackId === id, 5000);
    expect((await r.store.get(id))?.status).to.equal('completed');
  });
});
