import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { channelOf } from '../../tools/asterisk-lab/observer';
import { Lab } from '../../tools/asterisk-lab/lab';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * The overflow actions beside the callback offer, the position announcements and the languages,
 * on a real Asterisk: SIPp callers dial the sample dialplan's numbers; the plugin's queue config
 * gives the actions.
 */
function withLadder(
  actions: { when: Record<string, unknown>; action: string }[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const base = asteriskStoryConfig({ agents: [] });
  const [support, sales] = base.queues as Record<string, unknown>[];
  return {
    ...base,
    queues: [
      { ...support, overflow: { actions }, ...extra },
      { ...sales, overflow: { maxWaiting: 50 } },
    ],
  };
}

async function closeReason(lab: Lab, number: string): Promise<string | null> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const rows = (await lab.db('queue_entries').where({ caller_number: number }).orderBy('seq')) as { close_reason: string | null }[];
    const last = rows[rows.length - 1];
    if (last?.close_reason) return last.close_reason;
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeOnAsterisk('real Asterisk: overflow actions, announcements, languages', function () {
  this.timeout(120_000);

  it('queue:sales: the caller moves to another queue and an agent of that queue takes it', async () => {
    await withLab(
      { agents: [{ id: '1002', queues: ['sales'] }], pluginConfig: withLadder([{ when: { maxWaiting: 1 }, action: 'queue:sales' }]) },
      async (lab) => {
        await lab.phone('1002').use({ answer: { answerAfterMs: 500 }, steps: [{ wait: 2000 }, { hangup: true }] });
        const caller = await lab.call(DID.support, { from: '+15558000001', steps: [{ waitForBye: 30000 }] });
        await lab.observer.waitFor(
          (e) =>
            e.type === 'ChannelEnteredBridge' &&
            e.raw.bridge?.bridge_type === 'mixing' &&
            e.raw.channel?.id?.startsWith('agent-direct-callback-') === true,
          20000,
          'the sales agent bridged',
        );
        expect(await caller.finished(30000), caller.errors()).to.equal(0);
        const rows = (await lab.db('queue_entries').where({ caller_number: '+15558000001' }).orderBy('seq')) as {
          queue_id: string;
          first_queue_id: string;
          close_reason: string;
        }[];
        expect(rows.map((r) => [r.queue_id, r.first_queue_id, r.close_reason])).to.deep.equal([
          ['support', 'support', 'moved'],
          ['sales', 'support', 'connected'],
        ]);
      },
    );
  });

  it('external: the outside number is dialled through the trunk and bridged with the caller', async () => {
    await withLab({ agents: [], pluginConfig: withLadder([{ when: { maxWaiting: 1 }, action: 'external:+15559990000' }]) }, async (lab) => {
      await lab.customers.use({ answer: { answerAfterMs: 800 }, steps: [{ wait: 2000 }, { hangup: true }] });
      const caller = await lab.call(DID.support, { from: '+15558000002', steps: [{ waitForBye: 30000 }] });
      const leg = await lab.observer.waitFor(
        (e) => e.type === 'ChannelCreated' && e.raw.channel?.id?.startsWith('external-direct-callback-') === true,
        15000,
        'the outside leg',
      );
      await lab.observer.waitForCount(
        (e) => e.type === 'ChannelEnteredBridge' && e.raw.bridge?.bridge_type === 'mixing',
        2,
        15000,
        'caller and outside number bridged',
      );
      expect(leg.raw.channel?.name).to.match(/^PJSIP\/trunk-/);
      expect(await caller.finished(30000), caller.errors()).to.equal(0);
      expect(await closeReason(lab, '+15558000002')).to.equal('external');
    });
  });

  it('voicemail: the caller continues to app_voicemail, which records a message in the mailbox', async () => {
    await withLab({ agents: [], pluginConfig: withLadder([{ when: { maxWaiting: 1 }, action: 'voicemail:2000' }]) }, async (lab) => {
      // The greeting and the tone take about 11 s; the caller leaves a few seconds of message.
      const caller = await lab.call(DID.support, { from: '+15558000003', steps: [{ wait: 18000 }, { hangup: true }] });
      await lab.observer.waitFor(
        (e) =>
          e.type === 'StasisEnd' || (e.type === 'ChannelDialplan' && (e.raw as { dialplan_app?: string }).dialplan_app === 'VoiceMail'),
        15000,
        'the caller in the dialplan',
      );
      expect(await caller.finished(30000), caller.errors()).to.equal(0);
      const inbox = path.join(lab.asterisk.dir, 'spool', 'voicemail', 'default', '2000', 'INBOX');
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline && !(fs.existsSync(inbox) && fs.readdirSync(inbox).some((f) => f.endsWith('.txt'))))
        await new Promise((r) => setTimeout(r, 200));
      const meta = fs.existsSync(inbox) ? fs.readdirSync(inbox).find((f) => f.endsWith('.txt')) : undefined;
      expect(meta, 'a message in the mailbox').to.be.a('string');
      expect(fs.readFileSync(path.join(inbox, meta as string), 'utf8')).to.include('+15558000003');
      expect(await closeReason(lab, '+15558000003')).to.equal('voicemail');
    });
  });

  it('message: the caller hears the message and the plugin ends the call (reason stored)', async () => {
    await withLab(
      { agents: [], pluginConfig: withLadder([{ when: { maxWaiting: 1 }, action: 'message:callback/closed' }]) },
      async (lab) => {
        const caller = await lab.call(DID.support, { from: '+15558000004', steps: [{ waitForBye: 30000 }] });
        const played = await lab.observer.waitFor(
          (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.closed,
          15000,
          'the message',
        );
        await lab.observer.waitFor((e) => e.type === 'ChannelDestroyed' && channelOf(e) === channelOf(played), 20000, 'the call ended');
        expect(await caller.finished(20000), caller.errors()).to.equal(0);
        expect(await closeReason(lab, '+15558000004')).to.equal('message');
        expect(lab.plugin?.lines.some((l) => l.message === 'caller session ended' && l.reason === 'ended_after_message')).to.equal(true);
      },
    );
  });

  it('announcements count the callback ahead; a Spanish line hears Spanish prompts', async () => {
    const base = asteriskStoryConfig({ agents: [] });
    const [support, sales] = base.queues as Record<string, unknown>[];
    const config = { ...base, queues: [{ ...support, announce: { onEntry: true, everySec: null } }, sales] };
    await withLab({ agents: [{ id: '1001', loggedIn: false }], pluginConfig: config, http: true }, async (lab) => {
      expect((await lab.api('POST', '/callbacks', { queueId: 'support', number: '+15558000099' })).status).to.equal(201);
      const caller = await lab.call(DID.supportSpanish, { from: '+15558000005', steps: [{ wait: 14000 }, { hangup: true }] });
      const pos = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.announcePosition,
        15000,
        'the announcement',
      );
      const ch = channelOf(pos) as string;
      expect(pos.raw.playback?.language).to.equal('es');
      const number = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri?.startsWith('number:') === true,
        10000,
        'the position',
      );
      expect(number.raw.playback?.media_uri, 'the callback ahead counts').to.equal('number:2');
      const offer = await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.offer,
        15000,
        'the offer',
      );
      expect(offer.raw.playback?.language).to.equal('es');
      const announceDone = lab.observer.find(
        (e) => e.type === 'PlaybackFinished' && channelOf(e) === ch && e.raw.playback?.id === pos.raw.playback?.id,
      )[0];
      expect(announceDone, 'the announcement ended before the offer started').to.not.equal(undefined);
      expect(offer.at).to.be.at.least(announceDone?.at ?? Infinity);
      expect(await caller.finished(30000), caller.errors()).to.equal(0);
    });
  });
});
