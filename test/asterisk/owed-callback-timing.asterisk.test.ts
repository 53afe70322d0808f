import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import type { Lab } from '../../tools/asterisk-lab/lab';
import { channelOf, ObservedEvent } from '../../tools/asterisk-lab/observer';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Issue 18, defect 3, on a real Asterisk: the agent leg of a direct call's owed callback was
 * originated 0.04 s after the booking, while the caller was still hearing the confirmation on
 * the inbound call. An owed callback now waits until its caller's inbound call has ended. Times
 * are Asterisk's own (the observer's event timestamps), not the plugin's.
 */
const isCallbackAgentLeg = (id: string | undefined) => id?.startsWith('cb-agent-direct-callback-') === true;

/** The callback's agent leg is created only after the caller's channel (whose confirmation began at `confirmation`) is gone. */
async function expectAgentLegAfterCallerGone(lab: Lab, confirmation: ObservedEvent, what: string): Promise<void> {
  const callerId = channelOf(confirmation) as string;
  const callerGone = await lab.observer.waitFor(
    (e) => e.type === 'ChannelDestroyed' && channelOf(e) === callerId,
    40000,
    "the caller's call ended",
  );
  const agentLeg = await lab.observer.waitFor((e) => e.type === 'ChannelCreated' && isCallbackAgentLeg(e.raw.channel?.id), 30000, what);
  expect(
    agentLeg.at - callerGone.at,
    `agent leg created ${agentLeg.at - confirmation.at} ms after the confirmation began; caller gone ${callerGone.at - confirmation.at} ms after it`,
  ).to.be.at.least(0);
}

describeOnAsterisk('real Asterisk: an owed callback waits for the end of the call that booked it', function () {
  this.timeout(120_000);

  it('the owner is free when the caller presses 1; their phone rings only after the caller hung up', async () => {
    const pluginConfig = asteriskStoryConfig({
      agents: [],
      extra: { direct: { ringTimeoutSec: 4, overflow: true, offerIntervalSec: 20, maxOffers: 2, guard: { enabled: false } } },
    });
    await withLab({ agents: [{ id: '1001', queues: [], personalNumber: '5551000' }], pluginConfig }, async (lab) => {
      await lab.phone('1001').use({ answer: { neverAnswer: true }, steps: [] });
      const caller = await lab.call(DID.direct1001, {
        from: '+15556660201',
        steps: [{ wait: 7000 }, { dtmf: '1' }, { waitForBye: 40000 }],
      });
      await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.directOffer,
        20000,
        'the offer',
      );
      // The direct leg rang out: the owner is back at the desk, free, before the caller presses 1.
      await lab.phone('1001').use({ answer: { answerAfterMs: 500 }, steps: [{ wait: 1500 }, { hangup: true }] });
      const confirmation = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.confirm,
        20000,
        'the confirmation',
      );
      await expectAgentLegAfterCallerGone(lab, confirmation, "the owed callback's agent leg");
      // The caller heard the whole confirmation before the plugin hung up.
      const finished = lab.observer.find((e) => e.type === 'PlaybackFinished' && e.raw.playback?.id === confirmation.raw.playback?.id);
      expect(finished, 'the confirmation finished').to.have.length(1);
      expect(await caller.finished(30000), caller.errors()).to.equal(0);
      const [cb] = (await lab.db('callback_requests').where({ customer_number: '+15556660201' })) as Record<string, unknown>[];
      expect(cb?.source_call_ended_at, 'the end is recorded for other instances').to.be.instanceOf(Date);
    });
  });

  it("a queue caller's callback: an agent logs in during the confirmation; their phone rings only after the caller hung up", async () => {
    await withLab(
      { agents: [{ id: '1001', queues: ['support'] }], pluginConfig: asteriskStoryConfig({ agents: [] }), http: true },
      async (lab) => {
        // Logged out: the caller waits and overflows at once, and hears the offer.
        expect((await lab.api('POST', '/agents/1001/logout')).status).to.equal(200);
        await lab.phone('1001').use({ answer: { answerAfterMs: 500 }, steps: [{ wait: 1500 }, { hangup: true }] });
        const number = '+15556660202';
        const caller = await lab.call(DID.support, { from: number, steps: [{ wait: 3000 }, { dtmf: '1' }, { waitForBye: 40000 }] });
        const confirmation = await lab.observer.waitFor(
          (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.confirm,
          20000,
          'the confirmation',
        );
        expect((await lab.api('POST', '/agents/1001/login')).status).to.equal(200);
        await expectAgentLegAfterCallerGone(lab, confirmation, "the callback's agent leg");
        expect(await caller.finished(30000), caller.errors()).to.equal(0);
      },
    );
  });
});
