import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { channelOf } from '../../tools/asterisk-lab/observer';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Toll fraud on a real Asterisk (issue 19): a caller whose caller id is a premium-rate number
 * misses the agent, is offered a callback owed by that agent, presses 1 - and hears that the
 * number cannot be called back. Nothing is stored, and no leg goes to the trunk (the lab's
 * customers behind it would answer anything that came).
 */
const PREMIUM = '+19005550123';

describeOnAsterisk('real Asterisk: toll fraud through a direct call', function () {
  this.timeout(120_000);

  it('a premium caller id presses 1 for the owed callback: "cannot call you back at that number", no trunk leg', async () => {
    const pluginConfig = asteriskStoryConfig({
      agents: [],
      extra: { direct: { ringTimeoutSec: 4, overflow: true, offerIntervalSec: 20, maxOffers: 2 } },
    });
    await withLab({ agents: [{ id: '1001', queues: [], personalNumber: '5551000' }], pluginConfig }, async (lab) => {
      await lab.phone('1001').use({ answer: { neverAnswer: true }, steps: [] });
      // Anyone dialled through the trunk would answer and press 1: nothing must reach them.
      const customers = await lab.customers.use({
        answer: { answerAfterMs: 300 },
        steps: [{ wait: 1000 }, { dtmf: '1' }, { wait: 2000 }, { hangup: true }],
      });
      const caller = await lab.call(DID.direct1001, { from: PREMIUM, steps: [{ wait: 7000 }, { dtmf: '1' }, { waitForBye: 40000 }] });
      const offer = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.directOffer,
        20000,
        'the owed-callback offer',
      );
      const callerChannel = channelOf(offer);
      // The agent is back at the desk and would accept the owed callback at once, had one been booked.
      const desk = await lab
        .phone('1001')
        .use({ answer: { answerAfterMs: 500 }, steps: [{ wait: 1500 }, { dtmf: '1' }, { waitForBye: 40000 }] });
      const refused = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.numberRefused,
        20000,
        'the "cannot call you back at that number" prompt',
      );
      expect(refused.raw.playback?.target_uri).to.equal(`channel:${callerChannel}`);
      await lab.observer.waitFor((e) => e.type === 'ChannelDestroyed' && channelOf(e) === callerChannel, 30000, 'the call ended');
      expect(await caller.finished(20000), caller.errors()).to.equal(0);
      // Time for a callback to be dispatched, accepted and dialled, had one been booked.
      await new Promise((r) => setTimeout(r, 6000));

      const row = (await lab.db('direct_calls').where({ caller_number: PREMIUM }).first()) as Record<string, unknown> | undefined;
      expect(row).to.include({ reason: 'number_refused', callback_id: null });
      expect(await lab.db('callback_requests').count({ n: '*' }).first()).to.deep.equal({ n: '0' });
      // The caller itself comes in over the trunk (the lab's callers call from its address): any other trunk channel is a dial.
      const created = lab.observer.events.filter((e) => e.type === 'ChannelCreated' && channelOf(e) !== callerChannel);
      const names = created.map((e) => `${e.raw.channel?.name ?? ''} ${e.raw.channel?.id ?? ''}`);
      expect(
        names.filter((n) => /^PJSIP\/trunk|cb-customer|cf-customer/.test(n)),
        'legs dialled to the trunk',
      ).to.deep.equal([]);
      expect(lab.observer.events.some((e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.confirm)).to.equal(
        false,
      );
      expect(desk.stats().created, 'calls to the agent after the offer').to.equal(0);
      expect(customers.stats().created, 'calls the customers behind the trunk received').to.equal(0);
      const log = fs.readFileSync(path.join(lab.dir, 'plugin.log'), 'utf8');
      expect(log).to.match(/owed callback refused: the caller id fails the number policy.*premium/);
    });
  });
});
