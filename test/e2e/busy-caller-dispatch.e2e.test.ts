import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { Dispatcher } from '../../src/engine/dispatcher';
import { sleep, startRig, useRig } from '../helpers/plugin-harness';

/**
 * Issue 18 (fuzzer): a live caller at the head of the queue who is typing another number cannot
 * take an agent. Dispatch used to plan that caller for every free agent: the ring was refused, the
 * agent freed, and dispatch planned the same caller again on the next turn of the event loop, a
 * CPU spin in which the next caller in line never got the free agent. Such a caller is passed over
 * until it is back to waiting, and then it is offered the next free agent.
 */

/** Counts the dispatcher's plans (its private `run`, once per dispatchSoon that got through). */
function countDispatchRuns(): { readonly runs: number; restore(): void } {
  const proto = Dispatcher.prototype as unknown as { run: (this: Dispatcher) => void };
  const original = proto.run;
  const counter = { runs: 0, restore: () => void (proto.run = original) };
  proto.run = function (this: Dispatcher) {
    counter.runs += 1;
    original.call(this);
  };
  return counter;
}

describe('e2e: a caller typing a number is passed over by dispatch (issue 18)', function () {
  this.timeout(40000);
  const rigs = useRig();
  let counter: ReturnType<typeof countDispatchRuns> | undefined;
  afterEach(() => {
    counter?.restore();
    counter = undefined;
  });

  it('the head caller is entering a number when an agent frees up: the next caller gets the agent, dispatch does not spin, and the head caller gets the next agent once back to waiting', async () => {
    counter = countDispatchRuns();
    const rig = rigs.set(await startRig());
    const a = rig.sim.call({ from: '+12125550101', to: 'queue:support' });
    await a.entered();
    await rig.waitForMilestone('caller_entered', (d) => d.channelId === a.id);
    const b = rig.sim.call({ from: '+12125550102', to: 'queue:support' });
    await b.entered();
    await rig.waitForMilestone('caller_entered', (d) => d.channelId === b.id);

    // Both are offered a callback (the queue overflows at one caller). A, first in line, asks to be called back at another number and is typing it.
    await a.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await a.pressDtmf('2');
    await a.waitForPlayback((m) => m === PROMPTS.enterNumber, 3000);

    const runsBefore = counter.runs;
    rig.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const served = await rig
      .waitForMilestone('caller_connected', (d) => d.channelId === b.id || d.channelId === a.id, 8000)
      .catch((e: Error) => {
        throw new Error(`${e.message}; dispatch ran ${counter!.runs - runsBefore} times since the agent freed up`);
      });
    expect(served.data, 'the agent went to the next caller in line').to.deep.include({ channelId: b.id, agentId: 'a1001' });
    // A few plans per change (device state, ring, answer, bridge); the spin made thousands.
    await sleep(300);
    expect(counter.runs - runsBefore, 'dispatch plans since the agent freed up').to.be.below(50);
    expect(a.alive, 'A still on the line, typing').to.equal(true);

    // A gives up typing ('#' with nothing typed, as many times as it may try): back to waiting at its place.
    for (let i = 0; i < 3; i++) {
      await a.pressDtmf('#');
      await sleep(150);
    }
    await a.waitForPlayback((m) => m === PROMPTS.entryGivenUp, 5000);
    rig.sim.endpoint('PJSIP/1002').setDeviceState('NOT_INUSE');
    const next = await rig.waitForMilestone('caller_connected', (d) => d.channelId === a.id, 8000);
    expect(next.data).to.deep.include({ channelId: a.id, agentId: 'a1002' });
  });
});
