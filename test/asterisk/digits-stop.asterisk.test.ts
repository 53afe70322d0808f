import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { Lab } from '../../tools/asterisk-lab/lab';
import { channelOf, type ObservedEvent } from '../../tools/asterisk-lab/observer';
import { REPO_ROOT } from '../../tools/asterisk-lab/runtime';
import { PluginProcess } from '../../tools/support/plugin-process';
import { asteriskFaultsConfig, callerChannel } from '../../tools/faults/asterisk-scenarios';
import { asteriskStoryConfig, describeOnAsterisk, DID, withLab } from './lab-suite';

/**
 * Issue 18, defect 1, on a real Asterisk: a stop answered 204 during a `digits:` item is ignored
 * (trace l, docs/asterisk-facts.md). Numbers are now read back as `sound:digits/N` items and every
 * control step waits for a playback's real end. These stories are the two that broke:
 * - an agent who presses 1 while the whisper reads the customer's number is bridged with the
 *   customer within 1 s of the press (a queue callback, and an owed callback of a direct call,
 *   whose whisper names no queue, so the digits come early);
 * - `kill -9` during the confirmation's digits: the restarted plugin says the confirmation again
 *   and hangs up within 5 s of its end, with exactly one callback.
 * The agent's phone presses 1 at a time computed from the prompts' lengths; each story checks
 * from Asterisk's own events that the press did land during the digits.
 */
const isAgentLeg = (id: string | undefined) => id?.startsWith('cb-agent-direct-callback-') === true;
const isCustomerLeg = (id: string | undefined) => id?.startsWith('cb-customer-direct-callback-') === true;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A prompt's length from its file in asterisk-config/sounds/en (8 kHz, 16-bit mono wav). */
function promptMs(media: string): number {
  const file = path.join(REPO_ROOT, 'asterisk-config', 'sounds', 'en', `${media.replace(/^sound:/, '')}.wav`);
  return Math.round(((fs.statSync(file).size - 44) / 16000) * 1000);
}

/** Into the number's third digit (a spoken digit lasts about 0.75 s: trace l). */
const INTO_THE_DIGITS_MS = 2000;
/** From the agent's answer to the whisper's first item: StasisStart and one database write. */
const ANSWER_TO_WHISPER_MS = 300;

/** An agent who answers and presses 1 while the whisper reads the customer's number. */
function agentPressingDuringTheDigits(beforeDigits: string[]) {
  const wait = ANSWER_TO_WHISPER_MS + beforeDigits.reduce((ms, m) => ms + promptMs(m), 0) + INTO_THE_DIGITS_MS;
  return { answer: { answerAfterMs: 300 }, steps: [{ wait }, { dtmf: '1' }, { waitForBye: 60_000 }] };
}

/** A customer who answers at once (no guard in these stories), talks and hangs up. */
const CUSTOMER_ANSWERING = { answer: { answerAfterMs: 50 }, steps: [{ wait: 3000 }, { hangup: true as const }] };

/**
 * The agent's 1 landed during the whisper's digits, and both legs entered one mixing bridge
 * within `withinMs` of it (Asterisk's timestamps).
 */
async function expectBridgedSoonAfterThePress(lab: Lab, withinMs: number): Promise<string> {
  const o = lab.observer;
  const press = await o.waitFor(
    (e) => e.type === 'ChannelDtmfReceived' && isAgentLeg(channelOf(e)) && e.raw.digit === '1',
    40_000,
    "the agent's 1",
  );
  const agentId = channelOf(press) as string;
  const playingThen = o
    .find((e) => e.type === 'PlaybackStarted' && channelOf(e) === agentId && e.at <= press.at)
    .map((e) => e.raw.playback?.media_uri);
  expect(playingThen.at(-1), `the item playing when the agent pressed 1 (${playingThen.join(', ')})`).to.match(/^sound:digits\//);
  const entered = await o.waitForCount(
    (e: ObservedEvent) =>
      e.type === 'ChannelEnteredBridge' &&
      e.raw.bridge?.bridge_type === 'mixing' &&
      (channelOf(e) === agentId || isCustomerLeg(channelOf(e))),
    2,
    15_000,
    'agent and customer bridged',
  );
  const bridgedAt = Math.max(...entered.map((e) => e.at));
  expect(bridgedAt - press.at, "from the agent's 1 to both legs in the bridge (ms)").to.be.below(withinMs);
  // The whisper ended at the press: nothing of it played after.
  const whisperAfter = o.find(
    (e) => e.type === 'PlaybackStarted' && channelOf(e) === agentId && e.at > press.at && e.raw.playback?.media_uri !== undefined,
  );
  expect(whisperAfter.map((e) => e.raw.playback?.media_uri)).to.deep.equal([]);
  return agentId;
}

async function statusWithin(lab: Lab, id: string, status: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let row: { status?: string } | undefined;
  while (Date.now() < deadline) {
    row = (await lab.db('callback_requests').where({ id }).first()) as { status?: string } | undefined;
    if (row?.status === status) return;
    await sleep(300);
  }
  throw new Error(`callback ${id} not ${status} within ${timeoutMs} ms: ${JSON.stringify(row)}`);
}

describeOnAsterisk('real Asterisk: a stop during the digits (issue 18)', function () {
  this.timeout(150_000);

  it('queue callback: the agent presses 1 during the whisper digits and is bridged with the customer within 1 s', async () => {
    const config = asteriskStoryConfig({ agents: [], queue: { guard: { enabled: false, timeoutSec: 8 } } });
    await withLab({ agents: [{ id: '1001' }], pluginConfig: config, http: true }, async (lab) => {
      await lab
        .phone('1001')
        .use(agentPressingDuringTheDigits([PROMPTS.whisperIntro, 'sound:callback/queue-support', PROMPTS.whisperCustomer]));
      await lab.customers.use(CUSTOMER_ANSWERING);
      const r = await lab.api<{ callback: { id: string } }>('POST', '/callbacks', { queueId: 'support', number: '+15553330101' });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      await expectBridgedSoonAfterThePress(lab, 1000);
      await statusWithin(lab, r.body.callback.id, 'completed', 30_000);
    });
  });

  it('owed callback of a direct call (no queue named: the digits come early): 1 during the digits, bridged within 1 s', async () => {
    const config = asteriskStoryConfig({
      agents: [],
      extra: {
        direct: { ringTimeoutSec: 4, overflow: true, offerIntervalSec: 20, maxOffers: 2, guard: { enabled: false, timeoutSec: 8 } },
      },
    });
    await withLab({ agents: [{ id: '1001', queues: [], personalNumber: '5551000' }], pluginConfig: config }, async (lab) => {
      await lab.phone('1001').use({ answer: { neverAnswer: true }, steps: [] });
      await lab.customers.use(CUSTOMER_ANSWERING);
      const caller = await lab.call(DID.direct1001, {
        from: '+15556660111',
        steps: [{ wait: 7000 }, { dtmf: '1' }, { waitForBye: 40_000 }],
      });
      await lab.observer.waitFor(
        (e) => e.type === 'PlaybackStarted' && e.raw.playback?.media_uri === PROMPTS.directOffer,
        20_000,
        'the offer',
      );
      // The agent is back: the owed callback rings this phone once the caller's call has ended.
      await lab.phone('1001').use(agentPressingDuringTheDigits([PROMPTS.whisperIntro, PROMPTS.whisperCustomer]));
      expect(await caller.finished(40_000), caller.errors()).to.equal(0);
      await expectBridgedSoonAfterThePress(lab, 1000);
      const [cb] = (await lab.db('callback_requests').where({ customer_number: '+15556660111' })) as { id: string }[];
      await statusWithin(lab, cb?.id ?? '', 'completed', 30_000);
    });
  });

  it('kill -9 during the confirmation digits: the restarted plugin says it again and hangs up within 5 s of its end; one callback', async () => {
    await withLab({ agents: [{ id: '1001', loggedIn: false }], pluginConfig: asteriskFaultsConfig(), http: true }, async (lab) => {
      const first = lab.plugin as PluginProcess;
      const number = '+15550002101';
      const caller = await lab.call(DID.support, { from: number, steps: [{ wait: 4000 }, { dtmf: '1' }, { waitForBye: 90_000 }] });
      const ch = await callerChannel(lab, number, 20_000);
      const o = lab.observer;
      await o.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && /^sound:digits\//.test(e.raw.playback?.media_uri ?? ''),
        30_000,
        'the confirmation reading the number',
      );
      await sleep(1000);
      const killedAt = Date.now();
      first.kill();
      await first.exited;
      const killedDuring = o.find((e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.at <= killedAt).at(-1);
      expect(killedDuring?.raw.playback?.media_uri, 'killed during the digits').to.match(/^sound:digits\//);
      await lab.startPlugin();
      const replay = await o.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === ch && e.raw.playback?.media_uri === PROMPTS.confirm && e.at > killedAt,
        30_000,
        'the confirmation said again',
      );
      const replayEnd = await o.waitFor(
        // The replay takes a restart-safe id an earlier prompt of this call had too: only its own events count.
        (e) => e.type === 'PlaybackFinished' && e.raw.playback?.id === replay.raw.playback?.id && e.at >= replay.at,
        40_000,
        'the end of the confirmation said again',
      );
      expect(replayEnd.raw.playback?.state, 'played to its end').to.equal('done');
      const heard = o
        .find((e) => e.type === 'PlaybackStarted' && e.raw.playback?.id === replay.raw.playback?.id && e.at >= replay.at)
        .map((e) => e.raw.playback?.media_uri);
      expect(heard.at(-1), 'the replay reached its goodbye').to.equal(PROMPTS.confirmGoodbye);
      const gone = await o.waitFor(
        (e) => (e.type === 'StasisEnd' || e.type === 'ChannelDestroyed') && channelOf(e) === ch,
        20_000,
        'the caller gone',
      );
      expect(gone.at - replayEnd.at, 'from the end of the confirmation to the caller gone (ms)').to.be.below(5000);
      expect(await caller.finished(20_000), caller.errors()).to.equal(0);
      const callbacks = (await lab.db('callback_requests').where({ customer_number: number })) as { status: string }[];
      expect(callbacks.map((c) => c.status)).to.deep.equal(['pending']);
    });
  });
});
