import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { digitSounds } from '../../src/domain/caller-number';
import { startRig, Rig, sleep, testConfigInput, useRig } from '../helpers/plugin-harness';

/** Call stories for calls to an agent's personal number (issue 4). */

function directConfig(direct: Record<string, unknown> = {}, agentsOver?: Record<string, unknown>[]): Record<string, unknown> {
  const base = testConfigInput();
  return {
    ...base,
    agents: agentsOver ?? [
      { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [], personalNumber: '5551000' },
      { id: 'a1002', name: 'Bob', endpoint: 'PJSIP/1002', queues: [{ id: 'support' }], personalNumber: '5551001' },
    ],
    direct: { ringTimeoutSec: 1, offerIntervalSec: 0.6, ...direct },
    callback: { ...(base.callback as Record<string, unknown>), syncIntervalSec: 1, timeRulesIntervalSec: 1 },
  };
}

describe('e2e: direct calls to an agent personal number', function () {
  this.timeout(30000);
  const rigs = useRig();

  async function freeAgents(r: Rig): Promise<void> {
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    r.sim.endpoint('PJSIP/1002').setDeviceState('NOT_INUSE');
    await sleep(100);
  }

  it('answered: the agent phone rings with the caller id, then both are bridged', async () => {
    const rig = rigs.set(await startRig({ config: directConfig(), agentsBusy: false }));
    await freeAgents(rig);
    rig.sim.endpoint('PJSIP/1001').manual();
    const call = rig.sim.call({ from: '+15557770001', name: 'Carol', to: 'direct:5551000', args: ['direct', '5551000'] });
    await call.entered();
    const leg = await rig.sim.endpoint('PJSIP/1001').nextLeg(3000);
    expect(leg.displayedCaller).to.deep.include({ number: '+15557770001' });
    expect(call.state, 'the caller hears ringing until the agent answers').to.not.equal('Up');
    leg.answer();
    await rig.waitForMilestone('caller_connected', (d) => d.channelId === call.id);
    const mixing = rig.sim.bridges().filter((b) => b.bridge_type === 'mixing');
    expect([...(mixing[0]?.channels ?? [])].sort()).to.deep.equal([call.id, leg.id].sort());
    leg.hangup();
    await call.waitFor('hungup', 3000);
    await sleep(200);
    expect((await rig.store.directCall(call.id))?.outcome).to.equal('answered');
  });

  it('no answer: the system message plays and the call ends (no overflow configured)', async () => {
    const rig = rigs.set(await startRig({ config: directConfig({ overflow: false }), agentsBusy: false }));
    await freeAgents(rig);
    rig.sim.endpoint('PJSIP/1001').ringsForever();
    const call = rig.sim.call({ from: '+15557770002', to: 'direct:5551000', args: ['direct', 'a1001'] });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.agentUnavailable, 5000);
    await call.waitFor('hungup', 5000);
    expect(call.hungUpBy).to.equal('app');
    expect(call.playbacks.some((p) => p.media.includes(PROMPTS.directOffer))).to.equal(false);
    await sleep(200);
    const rec = await rig.store.directCall(call.id);
    expect([rec?.outcome, rec?.cause]).to.deep.equal(['no_answer', 19]);
  });

  it('busy and unregistered phones: the message, with the reason stored', async () => {
    const rig = rigs.set(await startRig({ config: directConfig(), agentsBusy: false }));
    await freeAgents(rig);
    rig.sim.endpoint('PJSIP/1001').busy();
    rig.sim.endpoint('PJSIP/1002').unregistered();
    const toBusy = rig.sim.call({ from: '+15557770003', to: 'direct:5551000', args: ['direct', 'a1001'] });
    const toUnregistered = rig.sim.call({ from: '+15557770004', to: 'direct:5551001', args: ['direct', 'a1002'] });
    await toBusy.waitFor('hungup', 5000);
    await toUnregistered.waitFor('hungup', 5000);
    for (const c of [toBusy, toUnregistered]) expect(c.playbacks.some((p) => p.media.includes(PROMPTS.agentUnavailable))).to.equal(true);
    await sleep(200);
    expect((await rig.store.directCall(toBusy.id))?.outcome).to.equal('busy');
    expect((await rig.store.directCall(toUnregistered.id))?.outcome).to.equal('unregistered');
  });

  it('an agent without a personal number gets no direct calls', async () => {
    const rig = rigs.set(
      await startRig({ config: directConfig({}, [{ id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [] }]), agentsBusy: false }),
    );
    await freeAgents(rig);
    const call = rig.sim.call({ from: '+15557770005', to: 'direct:a1001', args: ['direct', 'a1001'] });
    await call.waitForPlayback((m) => m === PROMPTS.noPersonalNumber, 3000);
    await call.waitFor('hungup', 5000);
    expect(rig.sim.endpoint('PJSIP/1001').legs).to.have.length(0);
    expect(rig.logLines.some((l) => l.includes('without a personal number'))).to.equal(true);
    expect((await rig.store.directCall(call.id))?.outcome).to.equal('no_personal_number');
  });

  it('no answer with overflow: offer, 1, stored, confirmed, hung up; then offered only to that agent', async () => {
    const rig = rigs.set(await startRig({ config: directConfig({ overflow: true }), agentsBusy: false }));
    const r = rig;
    await freeAgents(r);
    r.sim.endpoint('PJSIP/1001').ringsForever();
    const call = r.sim.call({ from: '+15557770006', to: 'direct:5551000', args: ['direct', '5551000'] });
    await call.entered();
    const directLeg = await r.sim.endpoint('PJSIP/1001').nextLeg(3000);
    expect(directLeg.displayedCaller.number).to.equal('+15557770006');
    await call.waitForPlayback((m) => m === PROMPTS.directOffer, 5000);
    // Agent 1001 is now on another call; Bob (1002) is free the whole time.
    r.sim.endpoint('PJSIP/1001').setDeviceState('INUSE');
    await call.pressDtmf('1');
    await call.waitFor('hungup', 5000);
    const confirm = call.playbacks.find((p) => p.media.includes(PROMPTS.confirm));
    expect(confirm?.media).to.deep.equal([PROMPTS.confirm, ...digitSounds('15557770006'), PROMPTS.confirmGoodbye]);
    const [cb] = await r.store.listOpen();
    expect(cb?.ownerAgentId).to.equal('a1001');
    const ms = r.milestones.map((m) => m.name);
    expect(ms.indexOf('callback_stored')).to.be.lessThan(ms.indexOf('confirmation_started'));
    expect((await r.store.directCall(call.id))?.outcome).to.equal('callback_requested');
    await sleep(1500);
    expect(r.sim.endpoint('PJSIP/1002').legs, 'another free agent never gets it').to.have.length(0);
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(leg.displayedCaller.name).to.equal('CB +15557770006');
  });

  it('after the owner window the owed callback falls back to the configured queue', async () => {
    const rig = rigs.set(
      await startRig({ config: directConfig({ overflow: true, ownerWindowSec: 1, fallbackQueueId: 'support' }), agentsBusy: false }),
    );
    const r = rig;
    await freeAgents(r);
    r.sim.endpoint('PJSIP/1001').ringsForever();
    r.sim.endpoint('PJSIP/1002').setDeviceState('INUSE');
    const call = r.sim.call({ from: '+15557770007', to: 'direct:5551000', args: ['direct', 'a1001'] });
    await call.waitForPlayback((m) => m === PROMPTS.directOffer, 5000);
    r.sim.endpoint('PJSIP/1001').setDeviceState('INUSE');
    await call.pressDtmf('1');
    await call.waitFor('hungup', 5000);
    const [cb] = await r.store.listOpen();
    await r.waitForMilestone('owed_callback_fell_back', (d) => d.callbackId === cb?.id, 6000);
    const moved = await r.store.get(cb?.id ?? '');
    expect([moved?.queueId, moved?.ownerAgentId]).to.deep.equal(['support', null]);
    expect(moved?.arrivedAt.toISOString(), 'keeps its original place').to.equal(cb?.arrivedAt.toISOString());
    r.sim.endpoint('PJSIP/1002').manual();
    r.sim.endpoint('PJSIP/1002').setDeviceState('NOT_INUSE');
    const leg = await r.sim.endpoint('PJSIP/1002').nextLeg(5000);
    expect(leg.displayedCaller.name).to.equal('CB +15557770007');
    expect((await r.store.history(cb?.id ?? '')).map((h) => h.type)).to.include('fell_back_to_queue');
  });
});
