import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { SplitRig, splitRig, until } from './in-process-rig';
import { bookCallback } from '../helpers/plugin-harness';
import type { OutboundLeg } from '../../tools/simulator/scenario-driver';

/**
 * An agent-first attempt whose process went away after the agent's 1 (as after kill -9: the legs
 * stay in Stasis, nobody listens). Before, the restarted process hung up both legs and the lease
 * expiry counted the attempt: a customer who had answered meanwhile was hung up on and dialled
 * again later (`redial_after_answer` in the fault runs). Now the attempt is taken up where it was
 * (src/engine/reconciler.ts, PreviewCallSession.resume): the customer is asked for the guard's 1
 * again, or waited for while still ringing, then bridged with the agent; one customer leg in all.
 */
describe('resilience: a preview attempt taken up after a restart', function () {
  this.timeout(40000);
  const number = '+15557773001';
  const trunk = 'PJSIP/15557773001@trunk';
  let rig: SplitRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  /** A callback booked; agent 1001 answers and presses 1; the customer's leg is dialled. */
  async function untilCustomerDialled(r: SplitRig): Promise<{ callbackId: string; agent: OutboundLeg; customer: OutboundLeg }> {
    const first = await r.start();
    const callbackId = await bookCallback({ sim: r.sim, store: first.app.store }, number);
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint(trunk).manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agent = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    agent.answer();
    await agent.waitForPlayback((m) => m === PROMPTS.whisperIntro, 5000);
    await agent.pressDtmf('1');
    const customer = await r.sim.endpoint(trunk).nextLeg(5000);
    return { callbackId, agent, customer };
  }

  async function expectCompletedOnce(r: SplitRig, callbackId: string, agent: OutboundLeg, customer: OutboundLeg): Promise<void> {
    await until(
      'agent and customer in one mixing bridge',
      () => r.sim.bridges().some((b) => b.bridge_type === 'mixing' && b.channels.includes(agent.id) && b.channels.includes(customer.id)),
      10_000,
    );
    await until(
      'the callback completed',
      async () =>
        (await r.database.db('callback_requests').where({ id: callbackId }).first<{ status: string } | undefined>())?.status ===
        'completed',
      10_000,
    );
    expect(r.sim.endpoint(trunk).legs, 'the customer dialled once').to.have.length(1);
    const attempts = (await r.database.db('callback_attempts').where({ callback_id: callbackId })) as {
      outcome: string;
      customer_answered_at: Date | null;
      instance_id: string;
    }[];
    expect(attempts.map((a) => a.outcome)).to.deep.equal(['answered']);
    expect(attempts[0]?.customer_answered_at, 'the answer stored').to.not.equal(null);
    expect(customer.state).to.equal('Up');
    expect(agent.state).to.equal('Up');
  }

  it('the customer had answered and heard the guard: asked for 1 again, then bridged with the agent', async () => {
    rig = await splitRig();
    const { callbackId, agent, customer } = await untilCustomerDialled(rig);
    customer.answer();
    await customer.waitForPlayback((m) => m === PROMPTS.guard, 5000);
    // The first process goes without a word to Asterisk; a new one starts on the same database.
    await rig.plugin?.stop();
    const restartedAt = Date.now();
    await rig.start();
    await until(
      'the guard asked again after the restart',
      () => customer.playbacks.some((p) => p.media.includes(PROMPTS.guard) && (p.startedAt ?? 0) > restartedAt),
      10_000,
    );
    expect(rig.logLines.some((l) => l.includes('reconcile: callback attempt taken up again'))).to.equal(true);
    await customer.pressDtmf('1');
    await expectCompletedOnce(rig, callbackId, agent, customer);
  });

  it('the customer was still ringing: waited for, asked for 1 on answering, then bridged', async () => {
    rig = await splitRig();
    const { callbackId, agent, customer } = await untilCustomerDialled(rig);
    await rig.plugin?.stop();
    await rig.start();
    await until(
      'the attempt taken up',
      () => rig?.logLines.some((l) => l.includes('reconcile: callback attempt taken up again')) === true,
      10_000,
    );
    // The restarted process has its predecessor's instance id, whose claims it releases as a dead
    // process's once it runs: not the one it has taken up, which another instance could otherwise
    // claim and dial while this customer's phone still rings.
    const claim = (await rig.database.db('callback_requests').where({ id: callbackId }).first()) as {
      status: string;
      claimed_by: string;
      claim_expires_at: Date;
    };
    expect(claim).to.include({ status: 'in_progress', claimed_by: rig.config.instanceId });
    expect(new Date(claim.claim_expires_at).getTime(), 'the lease runs on').to.be.above(Date.now() + 5000);
    customer.answer();
    await customer.waitForPlayback((m) => m === PROMPTS.guard, 5000);
    await customer.pressDtmf('1');
    await expectCompletedOnce(rig, callbackId, agent, customer);
  });

  it('reclaimed by another instance meanwhile: nothing taken up, both legs hung up, the customer not dialled by this process', async () => {
    rig = await splitRig();
    const { callbackId, agent, customer } = await untilCustomerDialled(rig);
    customer.answer();
    await customer.waitForPlayback((m) => m === PROMPTS.guard, 5000);
    await rig.plugin?.stop();
    // Another instance reclaims the lease (as after its expiry) and starts its own attempt.
    await rig.database
      .db('callback_requests')
      .where({ id: callbackId })
      .update({ claimed_by: 'other', attempts_started: rig.database.db.raw('attempts_started + 1') });
    await rig.start();
    await until('both legs hung up', () => agent.state === 'hungup' && customer.state === 'hungup', 10_000);
    expect(rig.logLines.some((l) => l.includes('reconcile: callback attempt cannot be taken up'))).to.equal(true);
    expect(rig.sim.endpoint(trunk).legs).to.have.length(1);
    expect(
      ((await rig.database.db('callback_requests').where({ id: callbackId }).first()) as { claimed_by: string }).claimed_by,
      'the other instance keeps it',
    ).to.equal('other');
  });
});
