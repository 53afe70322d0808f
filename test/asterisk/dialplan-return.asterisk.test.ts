import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { isPlaybackOf, isStasisEntryFrom, ObservedEvent } from '../../tools/asterisk-lab/observer';
import { Lab } from '../../tools/asterisk-lab/lab';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Calls the plugin gives back to the dialplan, on a real Asterisk with the sample
 * extensions.conf: the status variable the plugin sets is read by the sample's fallback
 * ([callback-fallback]), which the observer watches step by step (ChannelDialplan carries each
 * application's arguments with the variables substituted). And one caller's hang-up during
 * "not assigned" leaves the plugin serving the next call.
 */
async function callerChannel(lab: Lab, callerNumber: string): Promise<string> {
  const entry = await lab.observer.waitFor(isStasisEntryFrom('direct-callback', callerNumber), 20000, `${callerNumber} in Stasis`);
  return entry.raw.channel?.id as string;
}

/** The dialplan steps a channel ran after `after` (an event of it), as `app(data)`. */
function stepsOf(lab: Lab, channelId: string): string[] {
  return lab.observer
    .find((e: ObservedEvent) => e.type === 'ChannelDialplan' && e.raw.channel?.id === channelId)
    .map((e) => `${e.raw.dialplan_app ?? ''}(${e.raw.dialplan_app_data ?? ''})`);
}

describeOnAsterisk('real Asterisk: calls returned to the dialplan', function () {
  this.timeout(150_000);

  it('an unknown queue and a full queue: back after Stasis() with DIRECT_CALLBACK_STATUS, the sample fallback rings the members, then voicemail', async () => {
    // The plugin knows queue support only (at most one caller); the sample's 5552100 is `queue,sales`.
    const base = asteriskStoryConfig({ agents: [] });
    const [support] = base.queues as Record<string, unknown>[];
    const pluginConfig = { ...base, queues: [{ ...support, maxCallers: 1 }] };
    await withLab({ agents: [{ id: '1001' }, { id: '1002', queues: [] }], pluginConfig }, async (lab) => {
      // The fallback's Dial() of the members: both phones are busy.
      await lab.phone('1001').use({ answer: { rejectWith: 486, afterMs: 300 }, steps: [] });
      await lab.phone('1002').use({ answer: { rejectWith: 486, afterMs: 300 }, steps: [] });

      // UNKNOWN_QUEUE
      const unknown = await lab.call(DID.sales, { from: '+15559100001', steps: [{ waitForBye: 30000 }] });
      const unknownId = await callerChannel(lab, '+15559100001');
      await lab.observer.waitFor(
        (e) => e.type === 'ChannelDialplan' && e.raw.channel?.id === unknownId && e.raw.dialplan_app === 'Playback',
        30000,
        "the fallback's message after the members",
      );
      const varset = lab.observer.find(
        (e) => e.type === 'ChannelVarset' && e.raw.channel?.id === unknownId && e.raw.variable === 'DIRECT_CALLBACK_STATUS',
      );
      expect(varset.map((e) => e.raw.value)).to.deep.equal(['UNKNOWN_QUEUE']);
      const steps = stepsOf(lab, unknownId);
      // Resumed at the step after Stasis() (priority 3 of 5552100), into the sample's fallback.
      expect(steps.slice(0, 4)).to.deep.equal([
        'NoOp(Queue sales)',
        'Stasis(direct-callback,queue,sales)',
        'Gosub(callback-fallback,queue,1(sales))',
        'GotoIf(0?full)',
      ]);
      expect(steps).to.include(
        'Log(WARNING,direct-callback: Stasis returned SUCCESS status UNKNOWN_QUEUE for queue sales from caller +15559100001 - ringing fallback phones)',
      );
      expect(steps).to.include('Dial(PJSIP/1002,40)');
      expect(steps).to.include('Playback(callback/agent-unavailable)');
      // The plugin never answered it: nothing of the plugin's played on it.
      expect(lab.observer.find((e) => e.type === 'PlaybackStarted' && e.raw.playback?.target_uri === `channel:${unknownId}`)).to.deep.equal(
        [],
      );
      expect(await unknown.finished(30000), unknown.errors()).to.equal(0);

      // FULL: one caller held in support, the next goes back.
      const held = await lab.call(DID.support, { from: '+15559100002', steps: [{ wait: 20000 }, { hangup: true }] });
      const heldId = await callerChannel(lab, '+15559100002');
      await lab.observer.waitFor(
        (e) => e.type === 'ChannelEnteredBridge' && e.raw.channel?.id === heldId && e.raw.bridge?.bridge_type === 'holding',
        20000,
        'the first caller held',
      );
      const full = await lab.call(DID.support, { from: '+15559100003', steps: [{ wait: 3000 }, { hangup: true }] });
      const fullId = await callerChannel(lab, '+15559100003');
      await lab.observer.waitFor(
        (e) => e.type === 'ChannelDialplan' && e.raw.channel?.id === fullId && e.raw.dialplan_app === 'VoiceMail',
        30000,
        'voicemail after the members',
      );
      const fullSteps = stepsOf(lab, fullId);
      expect(fullSteps).to.include('GotoIf(1?full)');
      expect(fullSteps).to.include('Log(NOTICE,direct-callback: queue support is full - ringing fallback phones for caller +15559100003)');
      expect(fullSteps).to.include('Dial(PJSIP/1001&PJSIP/1002,40)');
      expect(fullSteps).to.include('VoiceMail(2000@default,u)');
      expect(lab.plugin?.lines.some((l) => l.message?.includes('caller turned away') && l.limit === 'queue')).to.equal(true);
      expect(await full.finished(30000), full.errors()).to.equal(0);
      await held.stop();
    });
  });

  it('a caller who hangs up during "not assigned" leaves the plugin running: the next call is served', async () => {
    // Agent 1001 has no personal number: the sample's 5551000 (`direct,1001`) hears "not assigned".
    await withLab({ agents: [{ id: '1001' }], pluginConfig: asteriskStoryConfig({ agents: [] }) }, async (lab) => {
      const first = await lab.call(DID.direct1001, { from: '+15559100011', steps: [{ wait: 400 }, { hangup: true }] });
      const firstId = await callerChannel(lab, '+15559100011');
      await lab.observer.waitFor(isPlaybackOf(firstId, PROMPTS.noPersonalNumber), 20000, '"not assigned" started');
      await lab.observer.waitFor((e) => e.type === 'ChannelDestroyed' && e.raw.channel?.id === firstId, 20000, 'the caller gone');
      expect(await first.finished(20000), first.errors()).to.equal(0);
      // And one who hangs up as soon as the plugin answers: the BYE races the plugin's play request.
      const second = await lab.call(DID.direct1001, { from: '+15559100013', steps: [{ hangup: true }] });
      const secondId = await callerChannel(lab, '+15559100013');
      await lab.observer.waitFor((e) => e.type === 'ChannelDestroyed' && e.raw.channel?.id === secondId, 20000, 'the second caller gone');
      expect(await second.finished(20000), second.errors()).to.equal(0);
      await new Promise((r) => setTimeout(r, 1000));
      expect(lab.plugin?.running, 'the plugin process is still running').to.equal(true);
      expect(lab.plugin?.lines.some((l) => l.message === 'uncaught exception')).to.equal(false);

      const next = await lab.call(DID.support, { from: '+15559100012', steps: [{ wait: 3000 }, { hangup: true }] });
      const nextId = await callerChannel(lab, '+15559100012');
      await lab.observer.waitFor(
        (e) => e.type === 'ChannelEnteredBridge' && e.raw.channel?.id === nextId && e.raw.bridge?.bridge_type === 'holding',
        20000,
        'the next caller held by the plugin',
      );
      expect(await next.finished(20000), next.errors()).to.equal(0);
      expect(lab.plugin?.running).to.equal(true);
    });
  });
});
