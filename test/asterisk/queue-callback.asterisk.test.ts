import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { channelOf, ObservedEvent } from '../../src/asterisk-lab/observer';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/** The caller's channel: the first event whose channel shows this caller number. */
async function callerChannel(events: { waitFor: (p: (e: ObservedEvent) => boolean, t: number, w: string) => Promise<ObservedEvent> }, number: string): Promise<string> {
  const e = await events.waitFor((x) => x.raw.channel?.caller?.number === number, 15000, `a channel from ${number}`);
  return e.raw.channel?.id as string;
}

describeOnAsterisk('real Asterisk: queue overflow, offer, press 1', function () {
  this.timeout(120_000);

  it('offer → 1 → the row is committed before the confirmation starts → Asterisk hangs up', async () => {
    await withLab(
      {
        agents: [
          { id: '1001', queues: ['support'] },
          { id: '1002', queues: ['support'] },
        ],
        // Agents logged out: the caller waits and overflows at once (maxWaiting 1).
        pluginConfig: asteriskStoryConfig({ agents: [] }),
        http: true,
      },
      async (lab) => {
        for (const a of ['1001', '1002']) expect((await lab.api('POST', `/agents/${a}/logout`)).status).to.equal(200);
        const number = '+15551230001';
        const caller = await lab.call(DID.support, { from: number, steps: [{ wait: 3000 }, { dtmf: '1' }, { waitForBye: 30000 }] });
        const ch = await callerChannel(lab.observer, number);
        const offer = await lab.observer.waitFor((e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.offer, 15000, 'the offer');
        const digit = await lab.observer.waitFor((e) => e.type === 'ChannelDtmfReceived' && channelOf(e) === ch && e.raw.digit === '1', 15000, 'DTMF 1');
        const confirm = await lab.observer.waitFor((e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm, 15000, 'the confirmation');
        // Read as soon as Asterisk reports the confirmation: the row must already be committed.
        const rows = await lab.db('callback_requests').where({ customer_number: number });
        expect(rows, 'one stored callback when the confirmation started').to.have.length(1);
        expect(rows[0].status).to.equal('pending');
        expect(new Date(rows[0].requested_at).getTime()).to.be.at.most(confirm.at + 1);
        expect(offer.at).to.be.below(digit.at);
        expect(digit.at).to.be.below(confirm.at);
        await lab.observer.waitFor((e) => e.type === 'ChannelDestroyed' && channelOf(e) === ch, 30000, 'the caller hung up by Asterisk');
        expect(await caller.finished(20000), `SIPp: ${caller.errors()}`).to.equal(0);
        expect(caller.stats()).to.include({ successful: 1, failed: 0 });
        expect(caller.log().map((l) => l.message)).to.include('got bye');
      },
    );
  });
});
