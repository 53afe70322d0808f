import { expect } from 'chai';
import { holdingBridgeIdOf } from '../../src/calls/channel-ids';
import { sleep, startRig, useRig } from '../helpers/plugin-harness';
import { faultRequests } from '../helpers/request-faults';

/**
 * Issue 18 (fuzzer, seed 18 #4164 of 20,000): a caller's first `addChannel` into the queue's
 * shared holding bridge was slow; meanwhile a reconciliation (after a WebSocket gap) listed the
 * bridge empty and, its registry of the bridges' members being another object than the sessions'
 * one, saw no member either, and destroyed it. The caller's `addChannel` got 404, twice, and the
 * caller heard nothing for 2.8 s. The sessions and the reconciler now share one registry.
 */
describe('resilience: a reconciliation never destroys a holding bridge a caller is being added to', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('the bridge listed empty while the caller joins is kept, and the caller hears its music', async () => {
    const rig = rigs.set(await startRig());
    const bridgeId = holdingBridgeIdOf(rig.config.ari.app, 'support');
    // The caller's first add to the shared bridge takes 800 ms (Asterisk busy).
    const slowed = faultRequests(rig.sim, { operation: 'bridges.addChannel', pathIncludes: bridgeId }, 1, { delayMs: 800 });
    const call = rig.sim.call({ from: '+15557770101', to: 'queue:support' });
    await call.entered();
    for (let i = 0; i < 50 && slowed.count === 0; i++) await sleep(20);
    expect(slowed.count, 'the add is under way').to.equal(1);
    const listed = rig.sim.bridges().find((b) => b.id === bridgeId);
    expect(listed?.channels, 'Asterisk lists the bridge, empty for now').to.deep.equal([]);
    await rig.plugin.app.reconcile();
    await call.waitFor('mohOn', 3000);
    const bridge = rig.sim.bridges().find((b) => b.id === bridgeId);
    expect(bridge?.channels, 'the caller is in the shared bridge').to.deep.equal([call.id]);
    const log = rig.logLines.join('\n');
    expect(log, 'the bridge was not destroyed under the caller').to.not.include('destroying an empty holding bridge');
    expect(log).to.not.include('could not put the caller on hold');
  });
});
