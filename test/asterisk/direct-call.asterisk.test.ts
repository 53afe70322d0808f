import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { channelOf } from '../../tools/asterisk-lab/observer';
import { Lab } from '../../tools/asterisk-lab/lab';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Calls to an agent's personal number on a real Asterisk: the sample dialplan's 5551000 is
 * `Stasis(direct-callback,direct,1001)`; agent 1001's desk phone is a SIPp phone.
 */
const isDirectAgentLeg = (id: string | undefined) => id?.startsWith('direct-agent-direct-callback-') === true;

async function directCallRow(lab: Lab, callerNumber: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await lab.db('direct_calls').where({ caller_number: callerNumber }).whereNotNull('ended_at').first()) as
      Record<string, unknown> | undefined;
    if (row) return row;
    if (Date.now() > deadline) throw new Error(`no finished direct call from ${callerNumber} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const personal = (overflow: boolean) =>
  asteriskStoryConfig({
    agents: [],
    extra: { direct: { ringTimeoutSec: 4, overflow, offerIntervalSec: 20, maxOffers: 2, guard: { enabled: true, timeoutSec: 8 } } },
  });

describeOnAsterisk('real Asterisk: direct calls to a personal number', function () {
  this.timeout(120_000);

  it('answered: the caller hears ringing, the agent answers, both are bridged', async () => {
    await withLab({ agents: [{ id: '1001', queues: [], personalNumber: '5551000' }], pluginConfig: personal(false) }, async (lab) => {
      const phone = await lab.phone('1001').use({ answer: { answerAfterMs: 1500 }, steps: [{ wait: 2500 }, { hangup: true }] });
      const caller = await lab.call(DID.direct1001, { from: '+15556660101', steps: [{ waitForBye: 30000 }] });
      const ringing = await lab.observer.waitFor(
        (e) => e.type === 'ChannelCreated' && isDirectAgentLeg(e.raw.channel?.id),
        15000,
        "the agent's phone rung",
      );
      const agentId = ringing.raw.channel?.id as string;
      const bridged = await lab.observer.waitForCount(
        (e) => e.type === 'ChannelEnteredBridge' && e.raw.bridge?.bridge_type === 'mixing',
        2,
        15000,
        'caller and agent bridged',
      );
      expect(bridged.map((e) => channelOf(e))).to.include(agentId);
      const row = await directCallRow(lab, '+15556660101', 20000);
      expect(row).to.include({ agent_id: '1001', dialled: '1001', outcome: 'answered', reason: 'agent_hung_up' });
      expect(await caller.finished(20000), caller.errors()).to.equal(0);
      await lab.phone('1001').stop();
      expect(phone.stats()).to.include({ successful: 1, failed: 0 });
    });
  });

  it('not answered: the caller hears the system message and the plugin ends the call', async () => {
    await withLab({ agents: [{ id: '1001', queues: [], personalNumber: '5551000' }], pluginConfig: personal(false) }, async (lab) => {
      await lab.phone('1001').use({ answer: { neverAnswer: true }, steps: [] });
      const caller = await lab.call(DID.direct1001, { from: '+15556660102', steps: [{ waitForBye: 40000 }] });
      const msg = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.agentUnavailable,
        20000,
        'the system message',
      );
      await lab.observer.waitFor((e) => e.type === 'ChannelDestroyed' && channelOf(e) === channelOf(msg), 20000, 'the call ended');
      const row = await directCallRow(lab, '+15556660102', 10000);
      expect(row).to.include({ outcome: 'no_answer', reason: 'ended_after_message' });
      expect(await caller.finished(20000), caller.errors()).to.equal(0);
      expect(caller.log().map((l) => l.message)).to.include('got bye');
    });
  });

  it('not answered with overflow: the offer, 1, a callback owed by the same agent, who calls back first', async () => {
    await withLab({ agents: [{ id: '1001', queues: [], personalNumber: '5551000' }], pluginConfig: personal(true) }, async (lab) => {
      await lab.phone('1001').use({ answer: { neverAnswer: true }, steps: [] });
      await lab.customers.use({ answer: { answerAfterMs: 800 }, steps: [{ wait: 2000 }, { dtmf: '1' }, { wait: 2000 }, { hangup: true }] });
      const caller = await lab.call(DID.direct1001, {
        from: '+15556660103',
        steps: [{ wait: 7000 }, { dtmf: '1' }, { waitForBye: 40000 }],
      });
      await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.directOffer,
        20000,
        'the offer',
      );
      // The agent is back at the desk: the owed callback, booked in a moment, rings this phone first.
      await lab.phone('1001').use({ answer: { answerAfterMs: 500 }, steps: [{ wait: 2000 }, { dtmf: '1' }, { waitForBye: 40000 }] });
      await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.confirm,
        20000,
        'the confirmation',
      );
      const row = await directCallRow(lab, '+15556660103', 20000);
      expect(row).to.include({ outcome: 'callback_requested', reason: 'ended_after_confirmation' });
      const cb = (await lab.db('callback_requests').where({ id: row.callback_id }).first()) as Record<string, unknown>;
      expect(cb).to.include({ owner_agent_id: '1001', queue_id: 'direct:1001', customer_number: '+15556660103' });
      expect(await caller.finished(30000), caller.errors()).to.equal(0);
      const deadline = Date.now() + 60000;
      let status = '';
      while (Date.now() < deadline && status !== 'completed') {
        status = String(((await lab.db('callback_requests').where({ id: row.callback_id }).first()) as { status: string }).status);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(status).to.equal('completed');
      const attempts = (await lab.db('callback_attempts').where({ callback_id: row.callback_id })) as {
        agent_id: string;
        outcome: string;
      }[];
      expect(attempts.filter((a) => a.outcome === 'answered').map((a) => a.agent_id)).to.deep.equal(['1001']);
    });
  });
});
