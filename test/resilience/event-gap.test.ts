import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { startRig, sleep, testConfigInput, useRig } from '../helpers/plugin-harness';

/**
 * A WebSocket gap that swallows both PlaybackStarted and PlaybackFinished of a prompt requested
 * just before it (fuzzer, seed 18): the reconciliation after the reconnect settles the prompt, so
 * the session waiting for its end goes on instead of holding the caller in silence.
 */
describe('resilience: a prompt whose events were all lost in a WebSocket gap', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('a direct caller hears agent-unavailable across the gap and is hung up after the reconnect', async () => {
    const base = testConfigInput();
    const rig = rigs.set(
      await startRig({
        config: {
          ...base,
          agents: [{ id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [], personalNumber: '5551000' }],
          direct: { ringTimeoutSec: 1, offerIntervalSec: 0.6, overflow: false },
        },
        agentsBusy: false,
      }),
    );
    rig.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    await sleep(100);
    rig.sim.endpoint('PJSIP/1001').ringsForever();
    let gapAt = 0;
    // The play request reaches Asterisk; the WebSocket drops before its PlaybackStarted goes out
    // and stays refused past its PlaybackFinished.
    rig.sim.injectRequestFaults((r) => {
      if (r.operation !== 'channels.play' || gapAt || !JSON.stringify(r.query).includes('agent-unavailable')) return undefined;
      gapAt = performance.now();
      void rig.sim.refuseWebSocketFor(1500);
      return { delayMs: 50 };
    });
    const call = rig.sim.call({ from: '+15557770002', to: 'direct:5551000', args: ['direct', 'a1001'] });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.agentUnavailable, 5000);
    expect(gapAt, 'the gap opened at the prompt').to.be.greaterThan(0);
    await call.waitFor('hungup', 6000);
    expect(call.hungUpBy).to.equal('app');
    const lost = rig.sim.events
      .filter((e) => !e.delivered)
      .map((e) => String((e as { type?: unknown }).type ?? (e as { event?: { type?: unknown } }).event?.type));
    expect(lost.join(' '), 'both playback events were lost').to.match(
      /PlaybackStarted[\s\S]*PlaybackFinished|PlaybackFinished[\s\S]*PlaybackStarted/,
    );
  });
});
