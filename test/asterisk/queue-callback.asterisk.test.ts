import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { channelOf, ObservedEvent } from '../../tools/asterisk-lab/observer';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/** The caller's channel: the first event whose channel shows this caller number. */
async function callerChannel(
  events: { waitFor: (p: (e: ObservedEvent) => boolean, t: number, w: string) => Promise<ObservedEvent> },
  number: string,
): Promise<string> {
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
        const offer = await lab.observer.waitFor(
          (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.offer,
          15000,
          'the offer',
        );
        const digit = await lab.observer.waitFor(
          (e) => e.type === 'ChannelDtmfReceived' && channelOf(e) === ch && e.raw.digit === '1',
          15000,
          'DTMF 1',
        );
        const confirm = await lab.observer.waitFor(
          (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm,
          15000,
          'the confirmation',
        );
        // Read as soon as Asterisk reports the confirmation: the row must already be committed.
        const rows = await lab
          .db('callback_requests')
          .where({ customer_number: number })
          .select<{ status: string; requested_at: Date }[]>();
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

  it('a withheld caller id: press 1, type the number, hear it read back, confirm with 1', async () => {
    await withLab({ agents: [{ id: '1001', loggedIn: false }], pluginConfig: asteriskStoryConfig({ agents: [] }) }, async (lab) => {
      const caller = await lab.call(DID.support, {
        from: 'anonymous',
        steps: [
          { wait: 3000 },
          { dtmf: '1' },
          { wait: 4000 },
          { dtmf: '5553216547#' },
          { wait: 9000 },
          { dtmf: '1' },
          { waitForBye: 40000 },
        ],
      });
      const entered = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.enterNumber,
        20000,
        'the number entry prompt',
      );
      const ch = channelOf(entered) as string;
      expect(lab.observer.events.find((e) => e.raw.channel?.id === ch)?.raw.channel?.caller?.number).to.match(/^anonymous$/i);
      await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.youEntered,
        20000,
        'the read-back',
      );
      const confirm = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm,
        30000,
        'the confirmation',
      );
      const rows = await lab
        .db('callback_requests')
        .select<{ customer_number: string; status: string; requested_at: Date }[]>('customer_number', 'status', 'requested_at');
      expect(rows.map((r) => r.customer_number)).to.deep.equal(['+15553216547']);
      expect(new Date(rows[0].requested_at).getTime()).to.be.at.most(confirm.at + 1);
      expect(await caller.finished(40000), caller.errors()).to.equal(0);
    });
  });

  it('60 callers at once press 1: every request stored, every caller confirmed', async () => {
    const n = 60;
    await withLab(
      {
        agents: [{ id: '1001', loggedIn: false }],
        pluginConfig: asteriskStoryConfig({ agents: [], queue: { rateLimit: { limit: 3, windowSec: 3600 } } }),
        rtpPorts: 600,
      },
      async (lab) => {
        const numbers = Array.from({ length: n }, (_, i) => `+1555400${String(1000 + i)}`);
        const callers = await lab.call(
          DID.support,
          { from: '[field0]', steps: [{ wait: 3500 }, { dtmf: '1' }, { waitForBye: 60000 }] },
          { count: n, rate: 20, injection: numbers.map((x) => [x]) },
        );
        expect(await callers.finished(120000), callers.errors()).to.equal(0);
        expect(callers.stats()).to.include({ created: n, successful: n, failed: 0 });
        const rows = await lab.db('callback_requests').select('customer_number');
        expect(rows.map((r: { customer_number: string }) => r.customer_number).sort()).to.deep.equal([...numbers].sort());
        const confirmed = new Set(
          lab.observer.find((e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.confirm).map((e) => channelOf(e)),
        );
        expect(confirmed.size, 'callers who heard the confirmation').to.equal(n);
      },
    );
  });
});
