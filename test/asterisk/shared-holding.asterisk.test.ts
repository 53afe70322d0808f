import { expect } from 'chai';
import { holdingBridgeIdOf } from '../../src/calls/channel-ids';
import { PROMPTS } from '../../src/calls/prompts';
import { Lab } from '../../tools/asterisk-lab/lab';
import { channelOf, type ObservedEvent } from '../../tools/asterisk-lab/observer';
import { PluginProcess } from '../../tools/support/plugin-process';
import { asteriskFaultsConfig, callerChannel, login } from '../../tools/faults/asterisk-scenarios';
import { DID, describeOnAsterisk, withLab } from './lab-suite';
import { RtpCaller } from './rtp-caller';

/**
 * Issue 21: callers wait in one holding bridge per queue, shared, with music started once on it
 * (src/calls/hold.ts, holding-bridges.ts). What the product needs of holding, proven on the real
 * Asterisk from the RTP each caller receives (RtpCaller keeps every packet):
 * - a prompt to one caller while the others keep the music, and that caller's digits (press 2,
 *   typing a number, press 1); while it types it hears no music (it waits in a quiet bridge);
 * - music without gaps for the others when a caller joins or leaves;
 * - kill -9 with callers held: the restarted plugin adopts them in the bridge without a break;
 * - a caller leaving for an agent; the bridge destroyed when its last caller left.
 * The music is told from a prompt by the bytes: every caller in the bridge gets the same music
 * frames (../shared/ari/probes.md), so a frame another caller also got at that time is music.
 */
const HOLD = holdingBridgeIdOf('direct-callback', 'support');
/** The longest a held caller may go without a voice frame (a break in the music is seconds). */
const MAX_GAP_MS = 300;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const entered = (ch: string, bridge: string) => (e: ObservedEvent) =>
  e.type === 'ChannelEnteredBridge' && channelOf(e) === ch && e.raw.bridge?.id === bridge;
const left = (ch: string, bridge: string) => (e: ObservedEvent) =>
  e.type === 'ChannelLeftBridge' && channelOf(e) === ch && e.raw.bridge?.id === bridge;
const playOf = (type: string, ch: string, media: string) => (e: ObservedEvent) =>
  e.type === type && channelOf(e) === ch && e.raw.playback?.media_uri === media;

/** Payloads the listeners received from `from` to `to`: the music, when they are in the bridge with nothing playing. */
function heardBy(listeners: RtpCaller[], from: number, to: number): Set<string> {
  return new Set(listeners.flatMap((l) => l.between(from - 100, to + 100).map((f) => f.payload)));
}

/** The share of `caller`'s voice frames from `from` to `to` found in `music`, and how many frames. */
function musicShare(caller: RtpCaller, music: Set<string>, from: number, to: number): { share: number; frames: number } {
  const frames = caller.between(from, to).filter((f) => !/^(ff)+$/.test(f.payload));
  return { share: frames.length ? frames.filter((f) => music.has(f.payload)).length / frames.length : 0, frames: frames.length };
}

async function heldCaller(lab: Lab, number: string): Promise<{ rtp: RtpCaller; ch: string }> {
  const rtp = await RtpCaller.call(lab.asterisk.opts.ports.sip, DID.support, number);
  const ch = await callerChannel(lab, number, 15_000);
  await lab.observer.waitFor(entered(ch, HOLD), 15_000, `${number} in the shared holding bridge`);
  return { rtp, ch };
}

/** The bridges Asterisk has now (`GET /bridges`). */
async function bridgeIds(lab: Lab): Promise<string[]> {
  const res = await fetch(`${lab.asterisk.ariUrl}/ari/bridges`, {
    headers: { authorization: `Basic ${Buffer.from(`direct-callback:${lab.ariPassword}`).toString('base64')}` },
  });
  return ((await res.json()) as { id: string }[]).map((b) => b.id);
}

/** The shared bridge is gone within `ms` (destroyed by the plugin after its last caller left). */
async function holdGone(lab: Lab, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await bridgeIds(lab)).includes(HOLD)) {
    if (Date.now() > deadline) throw new Error(`${HOLD} still there ${ms} ms after its last caller left`);
    await sleep(200);
  }
}

/** The caller's first offer played to its end (then it hears the music). */
async function offerHeard(lab: Lab, ch: string): Promise<ObservedEvent> {
  return lab.observer.waitFor(playOf('PlaybackFinished', ch, PROMPTS.offerOtherNumber), 30_000, 'the offer heard');
}

describeOnAsterisk('real Asterisk: one shared holding bridge per queue (issue 21)', function () {
  this.timeout(180_000);
  const callers: RtpCaller[] = [];
  afterEach(() => {
    for (const c of callers.splice(0)) c.close();
  });

  it('a prompt and a typed number for one caller, the others on the music without a gap; the bridge goes with its last caller', async () => {
    await withLab({ agents: [{ id: '1001', loggedIn: false }], pluginConfig: asteriskFaultsConfig() }, async (lab) => {
      const o = lab.observer;
      const b = await heldCaller(lab, '+15550002201');
      const c = await heldCaller(lab, '+15550002202');
      callers.push(b.rtp, c.rtp);
      await offerHeard(lab, b.ch);
      const musicFrom = (await offerHeard(lab, c.ch)).at;

      // A joins: the others' music goes on; A hears the same music until its offer.
      const a = await heldCaller(lab, '+15550002203');
      callers.push(a.rtp);
      const aIn = (await o.waitFor(entered(a.ch, HOLD), 5000)).at;
      const offer = await o.waitFor(playOf('PlaybackStarted', a.ch, PROMPTS.offer), 20_000, "A's offer");
      if (offer.at - aIn > 600) {
        const beforeOffer = musicShare(a.rtp, heardBy([b.rtp, c.rtp], aIn, offer.at), aIn + 200, offer.at - 100);
        expect(beforeOffer.share, `A on the music before its offer (${beforeOffer.frames} frames)`).to.be.above(0.8);
      }
      // A presses 2 during the offer (its digit arrives while the prompt plays), then types a number.
      await sleep(1500);
      await a.rtp.press('2');
      const dtmf2 = await o.waitFor((e) => e.type === 'ChannelDtmfReceived' && channelOf(e) === a.ch && e.raw.digit === '2', 5000, "A's 2");
      const offerEnd = await o.waitFor((e) => e.type === 'PlaybackFinished' && channelOf(e) === a.ch && e.at >= offer.at, 10_000);
      expect(dtmf2.at, "A's 2 arrived while its offer played").to.be.below(offerEnd.at + 50);
      // While the offer played, A heard it and not the music; B and C heard the same music.
      const music = heardBy([b.rtp, c.rtp], offer.at, offerEnd.at);
      const aDuringOffer = musicShare(a.rtp, music, offer.at + 100, dtmf2.at - 100);
      expect(aDuringOffer.frames, "A's frames during its offer").to.be.above(20);
      expect(aDuringOffer.share, 'A heard its offer, not the music').to.be.below(0.05);
      const bcShared = musicShare(b.rtp, heardBy([c.rtp], offer.at, offerEnd.at), offer.at + 100, offerEnd.at - 100);
      expect(bcShared.share, `B heard the music C heard while A's offer played (${bcShared.frames} frames)`).to.be.above(0.9);

      // Typing: A waits in a quiet bridge of its own, hears its prompts and no music.
      const quiet = `quiet-${a.ch}`;
      const quietIn = (await o.waitFor(entered(a.ch, quiet), 10_000, 'A in its quiet bridge')).at;
      await o.waitFor(playOf('PlaybackFinished', a.ch, PROMPTS.enterNumber), 15_000, 'the enter-number prompt');
      await a.rtp.press('2125550177#');
      await o.waitFor(playOf('PlaybackStarted', a.ch, PROMPTS.confirmNumber), 20_000, 'the read-back');
      await sleep(2500);
      const typedUntil = Date.now();
      const whileTyping = musicShare(a.rtp, heardBy([b.rtp, c.rtp], quietIn, typedUntil), quietIn + 100, typedUntil);
      console.log(
        `      A while typing: ${whileTyping.frames} voice frames, ${Math.round(whileTyping.share * 100)} % music; during its offer ${aDuringOffer.frames} frames, ${Math.round(aDuringOffer.share * 100)} % music`,
      );
      expect(whileTyping.share, `A heard no music while typing (${whileTyping.frames} frames)`).to.be.below(0.05);
      await a.rtp.press('1');
      // Back in the shared bridge, booked, confirmed, hung up: A leaves the bridge.
      const backIn = await o.waitFor((e) => entered(a.ch, HOLD)(e) && e.at > quietIn, 10_000, 'A back in the shared bridge');
      await a.rtp.byeReceived(40_000);
      const aOut = await o.waitFor((e) => left(a.ch, HOLD)(e) && e.at >= backIn.at, 10_000, 'A out of the shared bridge');
      // Between the confirmation's end and the hang-up the shared music is back for A (it is not
      // stopped for one caller): how much of it A hears.
      const confirmed = o.find((e) => e.type === 'PlaybackFinished' && channelOf(e) === a.ch).at(-1);
      const afterConfirmation = a.rtp
        .between((confirmed?.at ?? 0) + 1, aOut.at + 50)
        .filter((f) => heardBy([b.rtp], aOut.at - 2000, aOut.at + 50).has(f.payload));
      console.log(`      A after its confirmation's end: ${afterConfirmation.length} music frame(s) before the hang-up`);
      await sleep(2000);

      // B and C: on the music throughout (A's join, prompts, typing and leave), never out of the bridge.
      const until = Date.now();
      for (const [name, x] of [['B', b] as const, ['C', c] as const]) {
        const gap = x.rtp.longestGapMs(musicFrom, until);
        console.log(
          `      ${name}: longest gap ${gap} ms over ${Math.round((until - musicFrom) / 1000)} s (A joined ${aIn - musicFrom} ms in, ` +
            `typed from ${quietIn - musicFrom} ms, back ${backIn.at - musicFrom} ms, left ${aOut.at - musicFrom} ms in)`,
        );
        expect(gap, `${name}'s longest time without a frame (ms)`).to.be.below(MAX_GAP_MS);
        expect(o.find(left(x.ch, HOLD)), `${name} never left the bridge`).to.deep.equal([]);
      }
      expect(musicShare(b.rtp, heardBy([c.rtp], musicFrom, until), musicFrom, until).share, 'B and C on one music').to.be.above(0.9);
      const rows = await lab.db('callback_requests').select<{ customer_number: string }[]>('customer_number');
      expect(rows.map((r) => r.customer_number)).to.deep.equal(['+12125550177']);

      // The last caller out destroys the bridge; one bridge and one music pair served everybody.
      await b.rtp.hangup();
      expect(await bridgeIds(lab), 'kept while C waits').to.include(HOLD);
      await c.rtp.hangup();
      await holdGone(lab, 10_000);
      const holdingBridges = new Set(
        o.find((e) => e.type === 'BridgeCreated' && e.raw.bridge?.bridge_type === 'holding').map((e) => e.raw.bridge?.id),
      );
      expect([...holdingBridges].sort()).to.deep.equal([HOLD, quiet].sort());
    });
  });

  it('kill -9 with callers held: adopted in the bridge without a break; one leaves for an agent, the other keeps the music', async () => {
    await withLab({ agents: [{ id: '1001', loggedIn: false }], pluginConfig: asteriskFaultsConfig(), http: true }, async (lab) => {
      const o = lab.observer;
      const b = await heldCaller(lab, '+15550002301');
      const c = await heldCaller(lab, '+15550002302');
      callers.push(b.rtp, c.rtp);
      await offerHeard(lab, b.ch);
      const musicFrom = (await offerHeard(lab, c.ch)).at;
      const first = lab.plugin as PluginProcess;
      const killedAt = Date.now();
      first.kill();
      await first.exited;
      await sleep(1000);
      const second = await lab.startPlugin();
      await o.waitFor(
        (e) => e.type === 'PlaybackStarted' && channelOf(e) === b.ch && e.raw.playback?.media_uri === PROMPTS.offer && e.at > killedAt,
        30_000,
        "B's offer again after the restart",
      );
      await sleep(1500);
      const adoptedUntil = Date.now();
      for (const [name, x] of [['B', b] as const, ['C', c] as const]) {
        expect(
          o.find((e) => left(x.ch, HOLD)(e) || entered(x.ch, HOLD)(e)).filter((e) => e.at > killedAt),
          `${name}: no leave, no re-entry`,
        ).to.deep.equal([]);
      }
      const mohStarts = second.lines.filter((l) => l.message === 'ari request' && l.op === 'startBridgeMoh');
      expect(
        mohStarts.map((l) => l.target),
        'the music started once by the new process',
      ).to.deep.equal([HOLD]);
      const mohAt = Date.parse(String(mohStarts[0]?.timestamp));
      // C heard no prompt after the restart yet only if its offer came later: its gap is measured over the music either way.
      const gapC = c.rtp.longestGapMs(musicFrom, adoptedUntil);
      console.log(
        `      C: longest gap ${gapC} ms across the kill, the restart and the second moh start (${mohAt - killedAt} ms after the kill)`,
      );
      expect(gapC, "C's longest time without a frame across the restart (ms)").to.be.below(MAX_GAP_MS);

      // B (the head of the queue) leaves for the agent; C keeps the music.
      // The agent talks until B hangs up (an agent free again would take C next).
      await lab.phone('1001').use({ answer: { answerAfterMs: 300 }, steps: [{ waitForBye: 60_000 }] });
      await login(lab, '1001');
      const bToAgent = await o.waitFor(
        (e) => e.type === 'ChannelEnteredBridge' && channelOf(e) === b.ch && e.raw.bridge?.bridge_type === 'mixing',
        30_000,
        'B with the agent',
      );
      await sleep(2000);
      const gapAfter = c.rtp.longestGapMs(adoptedUntil, Date.now());
      console.log(`      C: longest gap ${gapAfter} ms while B left for the agent (${bToAgent.at - adoptedUntil} ms in)`);
      expect(gapAfter, "C's longest time without a frame while B left (ms)").to.be.below(MAX_GAP_MS);
      expect(o.find(left(c.ch, HOLD)), 'C never left the bridge').to.deep.equal([]);
      expect(await bridgeIds(lab), 'kept for C').to.include(HOLD);
      await c.rtp.hangup();
      await holdGone(lab, 10_000);
      await b.rtp.hangup();
    });
  });
});
