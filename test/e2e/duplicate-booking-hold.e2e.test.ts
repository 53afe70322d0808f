import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { bookCallback, startRig, useRig } from '../helpers/plugin-harness';

/**
 * A caller who already has a callback presses 1 again and hears "you already have a callback".
 * That callback must not be dialled while this call is up: the customer is on the line with us,
 * and an agent freeing up during the prompt would ring an agent for a customer who is busy (the
 * attempt ends `busy` and costs one of the callback's attempts). It is dialled once the call ends.
 */
describe('e2e: a duplicate booking holds the existing callback while the call is up', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('the agent is rung for the existing callback only after the caller who heard "already booked" has gone', async () => {
    // Prompts long enough that a dial during "already booked" would come before its end.
    const rig = rigs.set(await startRig({ timing: { defaultSoundMs: 400, perDigitMs: 10 } }));
    const number = '+15558881104';
    const firstId = await bookCallback(rig, number);
    const agentPhone = rig.sim.endpoint('PJSIP/1001');
    agentPhone.manual();

    const again = rig.sim.call({ from: number, to: 'queue:support' });
    await again.entered();
    await again.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await again.pressDtmf('1');
    await again.waitForPlayback((m) => m === PROMPTS.alreadyBooked, 3000);
    // The agent frees up while the caller hears that they already have a callback.
    agentPhone.setDeviceState('NOT_INUSE');
    await again.waitFor('hungup', 5000);
    expect(agentPhone.legs, 'no agent rung while the customer was on the line').to.have.length(0);

    const leg = await agentPhone.nextLeg(5000);
    expect(leg.displayedCaller.name).to.equal(`CB ${number}`);
    expect((await rig.store.get(firstId))?.status).to.equal('in_progress');
  });
});
