/**
 * The simulator holds callers as the real Asterisk does in one holding bridge shared by several
 * callers with music on it (docs/asterisk-facts.md, "One holding bridge shared by a queue's callers";
 * test/asterisk/shared-holding.asterisk.test.ts): a playback on one caller's channel is heard by
 * that caller only, the others keep the music, and the caller's digits arrive during the music
 * and during the prompt.
 */
import { expect } from 'chai';
import { AriSimulator } from '../../tools/simulator/ari-simulator';
import { connectAri, type ConnectedAri } from '../helpers/simulator-ari';

describe('simulator: callers in one shared holding bridge with music', function () {
  this.timeout(10000);
  let sim: AriSimulator;
  let c: ConnectedAri | null = null;

  beforeEach(async () => {
    sim = await AriSimulator.start({ user: 'u', password: 'p' });
  });
  afterEach(async () => {
    c?.close();
    c = null;
    const problems = [...sim.eventViolations, ...sim.internalErrors];
    await sim.stop();
    expect(problems).to.deep.equal([]);
  });

  it('a prompt to one caller replaces the music for that caller only; its digits arrive during music and prompt', async () => {
    c = await connectAri(sim);
    const calls = [sim.call({ from: '+15550000001', to: 'queue:support' }), sim.call({ from: '+15550000002', to: 'queue:support' })];
    for (const call of calls) await call.entered();
    const [a, b] = calls;
    await c.ari.bridges.create({ type: 'holding', bridgeId: 'hold.direct-callback.support' });
    await c.ari.bridges.startMoh({ bridgeId: 'hold.direct-callback.support' });
    for (const call of calls) await c.ari.channels.answer({ channelId: call.id });
    await c.ari.bridges.addChannel({ bridgeId: 'hold.direct-callback.support', channel: calls.map((x) => x.id) });
    expect(
      calls.map((x) => x.hearing),
      'both on the music',
    ).to.deep.equal(['music', 'music']);

    await a.pressDtmf('1');
    sim.setMediaDuration('sound:callback/offer', 1500);
    await c.ari.channels.play({ channelId: a.id, media: 'sound:callback/offer', playbackId: 'pa' });
    await a.waitForPlayback((m) => m === 'sound:callback/offer', 1000);
    expect([a.hearing, b.hearing], 'the prompt to a, the music to b').to.deep.equal(['prompt', 'music']);
    await a.pressDtmf('2');
    await a.waitForPlayback((m) => m === 'sound:callback/offer', 3000, { until: 'finished' });
    expect([a.hearing, b.hearing], 'the music again for both').to.deep.equal(['music', 'music']);

    const digits = c.received
      .filter((e) => e.type === 'ChannelDtmfReceived' && (e.channel as { id: string }).id === a.id)
      .map((e) => e.digit);
    expect(digits, "a's digits, during the music and during the prompt").to.deep.equal(['1', '2']);
  });

  it('the callers of a holding bridge never hear each other; a holding bridge without music is silence', async () => {
    c = await connectAri(sim);
    const calls = [sim.call({ from: '+15550000003', to: 'queue:support' }), sim.call({ from: '+15550000004', to: 'queue:support' })];
    for (const call of calls) await call.entered();
    await c.ari.bridges.create({ type: 'holding', bridgeId: 'quiet' });
    for (const call of calls) await c.ari.channels.answer({ channelId: call.id });
    await c.ari.bridges.addChannel({ bridgeId: 'quiet', channel: calls.map((x) => x.id) });
    expect(calls.map((x) => x.hearing)).to.deep.equal(['silence', 'silence']);
    await c.ari.bridges.create({ type: 'mixing', bridgeId: 'talk' });
    await c.ari.bridges.addChannel({ bridgeId: 'talk', channel: calls.map((x) => x.id) });
    expect(calls.map((x) => x.hearing)).to.deep.equal(['party', 'party']);
  });
});
