import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { bookCallback, Rig, sleep, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';
import type { OutboundLeg } from '../../tools/simulator/ari-simulator';

/**
 * Issue 18, defect 1, on the simulator, which keeps what trace l measured: a stop during a
 * `digits:` item is answered 204 and ignored, and addChannel waits for the channel's playback.
 * Agents press 1 as soon as they know who it is, often while the whisper reads the customer's
 * number; the bridge must not wait for the rest of the whisper. A spoken digit lasts DIGIT_MS, so
 * a whisper that kept playing would hold the bridge for seconds.
 */
const DIGIT_MS = 300;
const PRESS_TO_BRIDGE_MS = 1000;

type Ev = { type?: string; playback?: { id?: string; media_uri?: string; target_uri?: string } };

function directConfig(): Record<string, unknown> {
  const base = testConfigInput();
  return {
    ...base,
    agents: [
      { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'support' }], personalNumber: '5551000' },
      { id: 'a1002', name: 'Bob', endpoint: 'PJSIP/1002', queues: [{ id: 'support' }], personalNumber: '5551001' },
    ],
    direct: { ringTimeoutSec: 1, offerIntervalSec: 0.6, overflow: true },
    callback: { ...(base.callback as Record<string, unknown>), syncIntervalSec: 1, timeRulesIntervalSec: 1 },
  };
}

/** The agent answers; during the whisper's third digit the agent presses 1; the customer answers and passes the guard at once. */
async function pressOneDuringTheDigits(
  r: Rig,
  customerEndpoint: string,
): Promise<{ pressToBridgeMs: number; agentLeg: OutboundLeg; callbackId: string }> {
  r.sim.endpoint(customerEndpoint).manual();
  const agentLeg = await r.sim.endpoint('PJSIP/1001').nextLeg(8000);
  const since = r.sim.events.length;
  agentLeg.answer();
  // The first digit of the customer's number (a `digits:` item in the old whisper), then into the third.
  await r.sim.waitForEvent(
    (e) => {
      const ev = e.event as Ev;
      return (
        ev.type === 'PlaybackStarted' &&
        ev.playback?.target_uri === `channel:${agentLeg.id}` &&
        /^(sound:digits\/|digits:)/.test(ev.playback.media_uri ?? '')
      );
    },
    5000,
    since,
  );
  await sleep(DIGIT_MS * 2.3);
  await agentLeg.pressDtmf('1', { durationMs: 20 });
  const pressedAt = Date.now();
  const customer = await r.sim.endpoint(customerEndpoint).nextLeg(5000);
  customer.answer();
  await customer.waitForPlayback((m) => m === PROMPTS.guard, 3000);
  await customer.pressDtmf('1', { durationMs: 20 });
  const bridged = await r.waitForMilestone('bridged', undefined, 10_000);
  return { pressToBridgeMs: Date.now() - pressedAt, agentLeg, callbackId: String(bridged.data.callbackId) };
}

describe('e2e: a press during the digits of the whisper (a stop Asterisk could ignore)', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('queue callback: the agent presses 1 during the customer number; the whisper ends at once and the bridge follows within 1 s', async () => {
    const r = rigs.set(await startRig({ timing: { perDigitMs: DIGIT_MS } }));
    await bookCallback(r, '+15559876001');
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const { pressToBridgeMs, agentLeg } = await pressOneDuringTheDigits(r, 'PJSIP/15559876001@trunk');
    expect(pressToBridgeMs).to.be.lessThan(PRESS_TO_BRIDGE_MS);
    const whisper = agentLeg.playbacks.find((p) => p.media.includes(PROMPTS.whisperIntro));
    expect(whisper?.stoppedByApp).to.equal(true);
    // The rest of the whisper never played: no item after the digits started.
    const later = r.sim.events.filter(
      (e) => (e.event as Ev).type === 'PlaybackStarted' && (e.event as Ev).playback?.media_uri === PROMPTS.whisperOptions,
    );
    expect(later).to.have.length(0);
  });

  it('owed callback of a direct call (the digits come early): 1 during the digits, bridged within 1 s', async () => {
    const r = rigs.set(await startRig({ config: directConfig(), agentsBusy: false, timing: { perDigitMs: DIGIT_MS } }));
    r.sim.endpoint('PJSIP/1001').ringsForever();
    r.sim.endpoint('PJSIP/1002').setDeviceState('INUSE');
    const call = r.sim.call({ from: '+15557770006', to: 'direct:5551000', args: ['direct', '5551000'] });
    await call.entered();
    await r.sim.endpoint('PJSIP/1001').nextLeg(3000); // the direct call's own leg, never answered
    await call.waitForPlayback((m) => m === PROMPTS.directOffer, 5000);
    r.sim.endpoint('PJSIP/1001').setDeviceState('INUSE');
    await call.pressDtmf('1');
    await call.waitFor('hungup', 10_000);
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const { pressToBridgeMs, callbackId } = await pressOneDuringTheDigits(r, 'PJSIP/15557770006@trunk');
    expect(pressToBridgeMs).to.be.lessThan(PRESS_TO_BRIDGE_MS);
    await sleep(300);
    const cb = await r.store.get(callbackId);
    expect([cb?.ownerAgentId, cb?.status]).to.deep.equal(['a1001', 'completed']);
  });
});
