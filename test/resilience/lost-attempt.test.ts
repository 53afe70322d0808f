import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { bookCallback, queueConfig } from '../helpers/plugin-harness';
import { SplitRig, splitRig, until } from './in-process-rig';

/**
 * A customer-first attempt whose process went away while the customer, who had answered and
 * pressed 1, was on hold for an agent. The restarted process cannot take that call up (it hangs
 * the legs up), and the claim it releases is reclaimed at once. The customer never talked to
 * anyone, so the callback must not count as done: it is called again. (The store used to treat
 * any stored answer of a lost attempt as the callback having happened, and completed it.)
 */
describe('resilience: a lost attempt whose customer answered but never talked', function () {
  this.timeout(40000);
  let rig: SplitRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('customer-first, on hold for an agent when the process went: called again, then served', async () => {
    rig = await splitRig(queueConfig({ mode: 'customer-first' }));
    const r = rig;
    const first = await r.start();
    const number = '+15557774001';
    const trunk = 'PJSIP/15557774001@trunk';
    const callbackId = await bookCallback({ sim: r.sim, store: first.app.store }, number);
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint(trunk).manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const customer = await r.sim.endpoint(trunk).nextLeg(5000);
    customer.answer();
    await customer.waitForPlayback((m) => m === PROMPTS.guard, 5000);
    await customer.pressDtmf('1');
    await customer.waitFor('mohOn', 5000);
    await r.sim.endpoint('PJSIP/1001').nextLeg(5000); // the agent's phone rings, nobody answers yet
    await r.plugin?.stop();
    await r.start();
    // The restarted process hangs up the legs it cannot take up; the customer's phone rings again.
    await until('the customer leg hung up', () => customer.state === 'hungup', 10_000);
    const again = await r.sim.endpoint(trunk).nextLeg(15_000);
    const row = (await r.database.db('callback_requests').where({ id: callbackId }).first()) as { status: string; attempts: number };
    expect(row.status, 'not completed without a conversation').to.equal('in_progress');
    expect(row.attempts, 'the lost attempt counted').to.equal(1);
    again.answer();
    await again.waitForPlayback((m) => m === PROMPTS.guard, 5000);
    await again.pressDtmf('1');
    const agent = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    agent.answer();
    await until(
      'the callback completed',
      async () =>
        ((await r.database.db('callback_requests').where({ id: callbackId }).first()) as { status: string }).status === 'completed',
      10_000,
    );
  });
});
