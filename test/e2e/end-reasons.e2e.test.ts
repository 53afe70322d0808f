import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { Rig, sleep, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';

/**
 * Who ended each call, as stored for reports and logged: the caller, the agent, or the plugin
 * after a message or after the callback confirmation. One story per outcome.
 */
function directConfig(direct: Record<string, unknown> = {}): Record<string, unknown> {
  const base = testConfigInput();
  return {
    ...base,
    agents: [
      { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [], personalNumber: '5551000' },
      { id: 'a1002', name: 'Bob', endpoint: 'PJSIP/1002', queues: [{ id: 'support' }] },
    ],
    direct: { ringTimeoutSec: 1, offerIntervalSec: 0.6, maxOffers: 1, ...direct },
  };
}

async function directRow(r: Rig, channelId: string): Promise<{ outcome: string | null | undefined; reason: string | null | undefined }> {
  for (let i = 0; i < 50; i++) {
    const row = await r.store.directCall(channelId);
    if (row?.endedAt) return { outcome: row.outcome, reason: row.reason };
    await sleep(100);
  }
  throw new Error(`direct call ${channelId} not finished`);
}

/** The stored place's close reason, once closed (closing does not hold up the call). */
async function closeReason(r: Rig, channelId: string): Promise<string | null> {
  for (let i = 0; i < 50; i++) {
    const row = await r.database
      .db('queue_entries')
      .where({ channel_id: channelId })
      .first<{ close_reason: string | null } | undefined>('close_reason');
    if (row?.close_reason) return row.close_reason;
    await sleep(100);
  }
  return null;
}

function endedLog(r: Rig, channelId: string): string | undefined {
  for (const l of r.logLines) {
    const o = JSON.parse(l) as { message?: string; callId?: string; reason?: string };
    if ((o.message === 'caller session ended' || o.message === 'direct call ended') && o.callId === channelId) return o.reason;
  }
  return undefined;
}

describe('e2e: who ended the call, stored and logged', function () {
  this.timeout(30000);
  const rigs = useRig();

  describe('direct calls', () => {
    it('answered, then the agent hangs up: agent_hung_up', async () => {
      const r = rigs.set(await startRig({ config: directConfig(), agentsBusy: false }));
      r.sim.endpoint('PJSIP/1001').manual();
      const call = r.sim.call({ from: '+15557770011', to: 'direct:5551000', args: ['direct', '5551000'] });
      await call.entered();
      const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(3000);
      leg.answer();
      await leg.waitFor('inBridge', 3000);
      leg.hangup();
      await call.waitFor('hungup', 3000);
      expect(await directRow(r, call.id)).to.deep.equal({ outcome: 'answered', reason: 'agent_hung_up' });
      expect(endedLog(r, call.id)).to.equal('agent_hung_up');
    });

    it('answered, then the caller hangs up: caller_hung_up', async () => {
      const r = rigs.set(await startRig({ config: directConfig(), agentsBusy: false }));
      r.sim.endpoint('PJSIP/1001').manual();
      const call = r.sim.call({ from: '+15557770012', to: 'direct:5551000', args: ['direct', '5551000'] });
      await call.entered();
      const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(3000);
      leg.answer();
      await leg.waitFor('inBridge', 3000);
      call.hangup();
      await leg.waitFor('hungup', 3000);
      expect(await directRow(r, call.id)).to.deep.equal({ outcome: 'answered', reason: 'caller_hung_up' });
    });

    it('not answered: the plugin ends the call after the system message (not the caller)', async () => {
      const r = rigs.set(await startRig({ config: directConfig(), agentsBusy: false }));
      r.sim.endpoint('PJSIP/1001').ringsForever();
      const call = r.sim.call({ from: '+15557770013', to: 'direct:5551000', args: ['direct', '5551000'] });
      await call.entered();
      await call.waitForPlayback((m) => m === PROMPTS.agentUnavailable, 5000);
      await call.waitFor('hungup', 5000);
      expect(call.hungUpBy).to.equal('app');
      expect(await directRow(r, call.id)).to.deep.equal({ outcome: 'no_answer', reason: 'ended_after_message' });
      expect(endedLog(r, call.id)).to.equal('ended_after_message');
    });

    it('a callback owed by the agent, booked: the plugin ends the call after the confirmation', async () => {
      const r = rigs.set(await startRig({ config: directConfig({ overflow: true, maxOffers: 3 }), agentsBusy: false }));
      r.sim.endpoint('PJSIP/1001').ringsForever();
      const call = r.sim.call({ from: '+15557770014', to: 'direct:5551000', args: ['direct', '5551000'] });
      await call.entered();
      await call.waitForPlayback((m) => m === PROMPTS.directOffer, 5000);
      await call.pressDtmf('1');
      await call.waitFor('hungup', 5000);
      expect(await directRow(r, call.id)).to.deep.equal({ outcome: 'callback_requested', reason: 'ended_after_confirmation' });
    });

    it('offers not taken: the plugin ends the call after the message, saying why', async () => {
      const r = rigs.set(await startRig({ config: directConfig({ overflow: true }), agentsBusy: false }));
      r.sim.endpoint('PJSIP/1001').ringsForever();
      const call = r.sim.call({ from: '+15557770015', to: 'direct:5551000', args: ['direct', '5551000'] });
      await call.entered();
      await call.waitFor('hungup', 8000);
      expect(await directRow(r, call.id)).to.deep.equal({ outcome: 'no_answer', reason: 'offer_not_taken' });
    });

    it('the caller gives up while the phone rings: caller_abandoned, caller_hung_up', async () => {
      const r = rigs.set(await startRig({ config: directConfig({}), agentsBusy: false }));
      r.sim.endpoint('PJSIP/1001').manual();
      const call = r.sim.call({ from: '+15557770016', to: 'direct:5551000', args: ['direct', '5551000'] });
      await call.entered();
      await r.sim.endpoint('PJSIP/1001').nextLeg(3000);
      call.hangup();
      expect(await directRow(r, call.id)).to.deep.equal({ outcome: 'caller_abandoned', reason: 'caller_hung_up' });
    });
  });

  describe('queue calls', () => {
    it('the caller hangs up while waiting: caller_hung_up, the place closed as such', async () => {
      const r = rigs.set(await startRig());
      const call = r.sim.call({ from: '+15557770021', to: 'queue:support' });
      await call.entered();
      await call.waitFor('mohOn', 3000);
      call.hangup();
      await r.waitForMilestone('caller_left', (d) => d.channelId === call.id, 3000);
      expect(endedLog(r, call.id)).to.equal('caller_hung_up');
      expect(await closeReason(r, call.id)).to.equal('caller_hung_up');
    });

    it('after the confirmation the plugin ends the call: ended_after_confirmation, the place kept by the callback', async () => {
      const r = rigs.set(await startRig());
      const call = r.sim.call({ from: '+15557770022', to: 'queue:support' });
      await call.entered();
      await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
      await call.pressDtmf('1');
      await call.waitFor('hungup', 5000);
      expect(call.hungUpBy).to.equal('app');
      const left = await r.waitForMilestone('caller_left', (d) => d.channelId === call.id, 3000);
      expect(left.data.reason).to.equal('ended_after_confirmation');
      expect(endedLog(r, call.id)).to.equal('ended_after_confirmation');
      expect(await closeReason(r, call.id)).to.equal('callback_booked');
    });

    it('connected to an agent who hangs up: agent_hung_up, the place closed as connected', async () => {
      const r = rigs.set(await startRig());
      const call = r.sim.call({ from: '+15557770023', to: 'queue:support' });
      await call.entered();
      await call.waitFor('mohOn', 3000);
      r.sim.endpoint('PJSIP/1001').manual();
      r.sim.endpoint('PJSIP/1001').setDeviceState(null);
      const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
      leg.answer();
      await leg.waitFor('inBridge', 3000);
      leg.hangup();
      await call.waitFor('hungup', 3000);
      await r.waitForMilestone('caller_left', (d) => d.channelId === call.id, 3000);
      expect(endedLog(r, call.id)).to.equal('agent_hung_up');
      expect(await closeReason(r, call.id)).to.equal('connected');
    });
  });
});
