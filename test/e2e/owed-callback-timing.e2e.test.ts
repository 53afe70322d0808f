import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { RecordedRequest } from '../../tools/simulator/http-server';
import { EventRecord } from '../../tools/simulator/ari-simulator';
import { SimCall } from '../../tools/simulator/scenario-driver';
import { queueConfig, Rig, sleep, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';

/**
 * Issue 18, defect 3: a callback is not dialled while the call that booked it is still up. The
 * caller hears the confirmation after the booking's commit; an agent free at that moment (the
 * owner of a direct call's owed callback, or a queue agent) was rung 0.04 s after the booking,
 * while the customer was still on their own call. The confirmation is made long here so that a
 * leg dialled during it cannot be missed.
 */

const CONFIRMATION_MS = 1500;

/** Every originate to `endpoint`, with whether the caller's channel was still up when it arrived. */
function watchOriginates(rig: Rig, endpoint: string, caller: SimCall): Array<{ atMs: number; callerUp: boolean }> {
  const seen: Array<{ atMs: number; callerUp: boolean }> = [];
  rig.sim.onRequest((r: RecordedRequest) => {
    if (r.method === 'POST' && r.path.startsWith('/ari/channels') && r.query.endpoint === endpoint)
      seen.push({ atMs: r.atMs, callerUp: caller.alive });
  });
  return seen;
}

/** When the simulator sent the caller's StasisEnd, the app's last event about it (ms since it started). */
function watchStasisEnd(rig: Rig, channelId: string): { atMs: number | undefined } {
  const out: { atMs: number | undefined } = { atMs: undefined };
  rig.sim.onEvent((e: EventRecord) => {
    const ch = e.event.channel as { id?: string } | undefined;
    if (e.event.type === 'StasisEnd' && ch?.id === channelId) out.atMs = e.atMs;
  });
  return out;
}

describe('e2e: a callback waits until the call that booked it has ended', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('direct call: the owner is free when the caller presses 1; the owed callback rings them only after the caller hung up', async () => {
    const base = testConfigInput();
    const rig = rigs.set(
      await startRig({
        config: {
          ...base,
          agents: [{ id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [], personalNumber: '5551000' }],
          direct: { ringTimeoutSec: 1, offerIntervalSec: 0.6, overflow: true },
        },
        agentsBusy: false,
      }),
    );
    rig.sim.setMediaDuration(PROMPTS.confirm, CONFIRMATION_MS);
    const phone = rig.sim.endpoint('PJSIP/1001');
    phone.setDeviceState('NOT_INUSE');
    phone.ringsForever();
    const call = rig.sim.call({ from: '+15557780001', to: 'direct:5551000', args: ['direct', '5551000'] });
    const originates = watchOriginates(rig, 'PJSIP/1001', call);
    const left = watchStasisEnd(rig, call.id);
    await call.entered();
    await phone.nextLeg(3000); // the direct call's own leg: rings out after 1 s
    await call.waitForPlayback((m) => m === PROMPTS.directOffer, 5000);
    // The direct leg rang out: the owner is free again when the caller presses 1.
    phone.manual();
    const before = originates.length;
    await call.pressDtmf('1');
    await call.waitForPlayback((m) => m === PROMPTS.confirm, 3000);
    await call.waitFor('hungup', 10000);
    const leg = await phone.nextLeg(5000);
    expect(leg.displayedCaller.name).to.equal('CB +15557780001');
    const callback = originates.slice(before);
    expect(callback, 'one agent leg for the owed callback').to.have.length(1);
    expect(callback[0]?.callerUp, 'the agent leg was originated while the caller was still on the call').to.equal(false);
    expect(left.atMs, "the caller's StasisEnd").to.be.a('number');
    expect(callback[0]?.atMs ?? 0).to.be.at.least(left.atMs ?? Infinity);
    await sleep(200);
    const [cb] = await rig.store.listOpen();
    expect(cb?.sourceCallEndedAt, 'the end of the booking call is recorded for other instances').to.be.instanceOf(Date);
  });

  it('queue call: an agent frees up during the confirmation; the callback rings them only after the caller hung up', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({}) }));
    rig.sim.setMediaDuration(PROMPTS.confirm, CONFIRMATION_MS);
    const phone = rig.sim.endpoint('PJSIP/1001');
    phone.manual();
    const call = rig.sim.call({ from: '+15557780002', to: 'queue:support' });
    const originates = watchOriginates(rig, 'PJSIP/1001', call);
    const left = watchStasisEnd(rig, call.id);
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await call.pressDtmf('1');
    await rig.waitForMilestone('confirmation_started', (d) => d.channelId === call.id, 5000);
    phone.setDeviceState('NOT_INUSE');
    await sleep(CONFIRMATION_MS / 2);
    expect(call.alive, 'still hearing the confirmation').to.equal(true);
    expect(originates, 'no agent leg during the confirmation').to.have.length(0);
    await call.waitFor('hungup', 10000);
    const leg = await phone.nextLeg(5000);
    expect(leg.displayedCaller.name).to.equal('CB +15557780002');
    expect(originates).to.have.length(1);
    expect(originates[0]?.callerUp).to.equal(false);
    expect(originates[0]?.atMs ?? 0).to.be.at.least(left.atMs ?? Infinity);
  });

  it('a caller who hangs up during the confirmation releases the callback at once', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({}) }));
    rig.sim.setMediaDuration(PROMPTS.confirm, 5000);
    const phone = rig.sim.endpoint('PJSIP/1001');
    phone.manual();
    const call = rig.sim.call({ from: '+15557780003', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await call.pressDtmf('1');
    await rig.waitForMilestone('confirmation_started', (d) => d.channelId === call.id, 5000);
    phone.setDeviceState('NOT_INUSE');
    await sleep(300);
    expect(phone.legs, 'held while the confirmation plays').to.have.length(0);
    const hungUpAt = Date.now();
    call.hangup();
    await phone.nextLeg(3000);
    expect(Date.now() - hungUpAt, 'released by the end of the call, not by the bound').to.be.below(2000);
  });
});
