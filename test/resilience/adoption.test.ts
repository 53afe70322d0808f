import { expect } from 'chai';
import { AriRequestError, CallControl } from '../../src/ari/call-control';
import { holdingBridgeIdOf } from '../../src/calls/channel-ids';
import { PROMPTS } from '../../src/calls/prompts';
import { SplitRig, splitRig, until } from './in-process-rig';
import type { SimCall } from '../../tools/simulator/scenario-driver';

/**
 * Re-adoption after a restart, in the holding bridge the previous process left the caller in: its
 * queue's, shared by the queue's callers and named after the app and the queue, so the restarted
 * process finds it.
 *
 * A channel added to the bridge it is already in is taken out and put back by Asterisk
 * (trace h: ChannelLeftBridge, ChannelEnteredBridge, after waiting behind the running prompt): a
 * break in the music. So an adopted caller still in its holding bridge stays there untouched.
 *
 * And a request about the adopted caller that times out (on a real Asterisk a channel command can
 * wait behind a running playback past the request timeout; test/fixtures/asterisk-22.10.1/
 * probes.md) is no reason to hang up a caller who is on the line. The real-Asterisk runs
 * (`npm run faults -- --asterisk`) check that no adopted caller is hung up without a reason and
 * none is taken out of its holding bridge; the timeout here is one a healthy Asterisk does not give.
 */
/** The support queue's shared holding bridge (the rig's app is the config's). */
const SUPPORT_HOLD = holdingBridgeIdOf('direct-callback', 'support');

describe('resilience: a caller adopted after a restart', function () {
  this.timeout(30000);
  let rig: SplitRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  /** A caller hearing the offer in its holding bridge when the first process goes without a word. */
  async function callerLeftInStasis(r: SplitRig, number: string): Promise<{ call: SimCall; channelId: string }> {
    const first = await r.start();
    r.sim.setMediaDuration(PROMPTS.offer, 10_000);
    const call = r.sim.call({ from: number, to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 5000);
    const channelId = call.id;
    expect(r.sim.bridges().find((b) => b.id === SUPPORT_HOLD)?.channels, "in its queue's holding bridge").to.deep.equal([channelId]);
    // As after kill -9: the caller stays in Stasis, in its bridge, with its prompt playing.
    await first.stop();
    return { call, channelId };
  }

  it('still in its holding bridge: kept there (never taken out and put back), music on, offered again', async () => {
    rig = await splitRig();
    const { call, channelId } = await callerLeftInStasis(rig, '+15557771002');
    const restartedAt = Date.now();
    const fromSeq = rig.sim.events.length;
    const fromRequest = rig.sim.requests.length;
    await rig.start();
    await until(
      'the offer again after the restart',
      () => call.playbacks.some((p) => p.media.includes(PROMPTS.offer) && (p.startedAt ?? 0) > restartedAt),
      10_000,
    );
    const bridgeEvents = rig.sim.events
      .slice(fromSeq)
      .filter((e) => /Bridge$/.test(String(e.event.type)) && (e.event.channel as { id?: string } | undefined)?.id === channelId);
    expect(
      bridgeEvents.map((e) => e.event.type),
      'bridge events of the adopted caller',
    ).to.deep.equal([]);
    const requests = rig.sim.requests.slice(fromRequest).map((r) => `${r.method} ${r.path}`);
    expect(requests.filter((r) => r.includes(`/bridges/${SUPPORT_HOLD}`))).to.deep.equal([`POST /ari/bridges/${SUPPORT_HOLD}/moh`]);
    const hold = rig.sim.bridges().find((b) => b.id === SUPPORT_HOLD);
    expect(hold?.channels).to.deep.equal([channelId]);
    expect(hold?.mohActive, 'music on hold').to.equal(true);
    expect(rig.logLines.some((l) => l.includes('adopted caller kept in its holding bridge'))).to.equal(true);
    expect(call.state).to.not.equal('hungup');
  });

  it('two callers in the shared bridge: both kept, the music started once; the bridge goes with the last of them', async () => {
    rig = await splitRig();
    const first = await rig.start();
    const calls = [
      rig.sim.call({ from: '+15557771003', to: 'queue:support' }),
      rig.sim.call({ from: '+15557771004', to: 'queue:support' }),
    ];
    for (const call of calls) await call.entered();
    await until('both in the shared bridge', () => rig?.sim.bridges().find((b) => b.id === SUPPORT_HOLD)?.channels.length === 2, 5000);
    await first.stop();
    const fromRequest = rig.sim.requests.length;
    await rig.start();
    await until(
      'both adopted',
      () => rig?.logLines.filter((l) => l.includes('adopted caller kept in its holding bridge')).length === 2,
      10_000,
    );
    const requests = () => rig?.sim.requests.slice(fromRequest).map((r) => `${r.method} ${r.path}`) ?? [];
    expect(requests().filter((r) => r.includes(`/bridges/${SUPPORT_HOLD}`))).to.deep.equal([`POST /ari/bridges/${SUPPORT_HOLD}/moh`]);
    calls[0].hangup();
    await calls[0].waitFor('hungup', 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(rig.sim.bridges().find((b) => b.id === SUPPORT_HOLD)?.channels, 'kept for the other caller').to.deep.equal([calls[1].id]);
    calls[1].hangup();
    await until('the bridge destroyed with its last caller', () => !rig?.sim.bridges().some((b) => b.id === SUPPORT_HOLD), 5000);
  });

  it('a shared bridge a dead process left empty (its callers hung up meanwhile) is destroyed by the restarted one', async () => {
    rig = await splitRig();
    const first = await rig.start();
    const call = rig.sim.call({ from: '+15557771005', to: 'queue:support' });
    await call.entered();
    await until('in the shared bridge', () => rig?.sim.bridges().find((b) => b.id === SUPPORT_HOLD)?.channels.length === 1, 5000);
    await first.stop();
    call.hangup();
    await call.waitFor('hungup', 5000);
    expect(rig.sim.bridges().find((b) => b.id === SUPPORT_HOLD)?.mohActive, 'left playing to nobody').to.equal(true);
    await rig.start();
    await until('the empty bridge destroyed', () => !rig?.sim.bridges().some((b) => b.id === SUPPORT_HOLD), 10_000);
  });

  it('when its music cannot be started (request timed out): kept, queued anyway, offered again, and books its callback', async () => {
    rig = await splitRig();
    const number = '+15557771001';
    const { call } = await callerLeftInStasis(rig, number);
    const restartedAt = Date.now();
    const timedOut: string[] = [];
    const timeout = (op: string) => async (): Promise<void> => {
      timedOut.push(op);
      throw new AriRequestError(`ETIMEDOUT: no answer to ${op} in 8000 ms`, 'transport', op);
    };
    await rig.start({
      wrapControl: (base: CallControl) =>
        new Proxy(base, {
          get(target, prop, receiver) {
            // Starting the music of the adopted caller's (kept) holding bridge times out;
            // everything else is the real request.
            if (prop === 'startBridgeMoh') return timeout(prop);
            const v: unknown = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
          },
        }),
    });
    await until(
      'the offer again after the restart',
      () => call.playbacks.some((p) => p.media.includes(PROMPTS.offer) && (p.startedAt ?? 0) > restartedAt),
      10_000,
    );
    expect(timedOut, rig.logLines.filter((l) => /reconcile|adopt|hold|offer/.test(l)).join('')).to.include('startBridgeMoh');
    expect(call.state, 'the caller is still on the line').to.not.equal('hungup');
    expect(rig.logLines.some((l) => l.includes('could not put the caller on hold; queued anyway'))).to.equal(true);
    await call.pressDtmf('1');
    await call.waitFor('hungup', 10_000);
    expect(
      call.playbacks.some((p) => p.media.includes(PROMPTS.confirm) && p.startedAt !== null),
      'the confirmation played',
    ).to.equal(true);
    const rows = await rig.database
      .db('callback_requests')
      .select<{ customer_number: string; status: string }[]>('customer_number', 'status');
    expect(rows).to.deep.equal([{ customer_number: number, status: 'pending' }]);
  });
});
