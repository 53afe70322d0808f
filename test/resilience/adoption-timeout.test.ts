import { expect } from 'chai';
import { AriRequestError, CallControl } from '../../src/ari/call-control';
import { PROMPTS } from '../../src/calls/prompts';
import { SplitRig, splitRig, until } from './in-process-rig';

/**
 * Re-adoption after a restart: a request about the adopted caller that times out (on a real
 * Asterisk a channel command can wait behind a running playback past the request timeout;
 * test/fixtures/asterisk-22.10.1/probes.md) is no reason to hang up a caller who is on the line.
 * The caller stays, is queued, hears the offer again and can still book. The real-Asterisk runs
 * (`npm run faults -- --asterisk`) check that no adopted caller is hung up without a reason; this
 * makes the timeout happen, which a healthy Asterisk does not.
 */
describe('resilience: an adopted caller whose hold request times out', function () {
  this.timeout(30000);
  let rig: SplitRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
  });

  it('is kept: queued anyway, offered again, and books its callback', async () => {
    rig = await splitRig();
    const first = await rig.start();
    rig.sim.setMediaDuration(PROMPTS.offer, 10_000);
    const number = '+15557771001';
    const call = rig.sim.call({ from: number, to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 5000);
    // The first process goes without a word to Asterisk (as after kill -9 the caller stays in Stasis).
    await first.stop();
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
            // Moving the adopted caller into its (reused) holding bridge times out, as addChannel
            // can behind a running playback; everything else is the real request.
            if (prop === 'addToBridge') return timeout(prop);
            const v: unknown = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
          },
        }),
    });
    await until('the offer again after the restart', () => call.playbacks.some((p) => p.media.includes(PROMPTS.offer) && (p.startedAt ?? 0) > restartedAt), 10_000);
    expect(timedOut, rig.logLines.filter((l) => /reconcile|adopt|hold|offer/.test(l)).join('')).to.include('addToBridge');
    expect(call.state, 'the caller is still on the line').to.not.equal('hungup');
    expect(rig.logLines.some((l) => l.includes('could not put the caller on hold; queued anyway'))).to.equal(true);
    await call.pressDtmf('1');
    await call.waitFor('hungup', 10_000);
    expect(call.playbacks.some((p) => p.media.includes(PROMPTS.confirm) && p.startedAt !== null), 'the confirmation played').to.equal(true);
    const rows = (await rig.database.db('callback_requests').select('customer_number', 'status')) as { customer_number: string; status: string }[];
    expect(rows).to.deep.equal([{ customer_number: number, status: 'pending' }]);
  });
});
