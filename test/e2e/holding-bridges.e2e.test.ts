import { expect } from 'chai';
import { holdingBridgeIdOf } from '../../src/calls/channel-ids';
import { HOLDING_BRIDGE_CAPACITY, HoldingBridges } from '../../src/calls/holding-bridges';
import { startRig, useRig } from '../helpers/plugin-harness';
import { faultRequests, INTERNAL_ERROR } from '../helpers/request-faults';

/**
 * A queue's callers fill holding bridges of HOLDING_BRIDGE_CAPACITY (Asterisk sends a bridge's
 * whole channel list with every join and leave: docs/asterisk-facts.md). One caller more than a
 * bridge takes is held in the queue's second bridge, with its own music; a caller who leaves frees
 * a place the next arrival takes; an emptied bridge is destroyed.
 */
describe('e2e: holding bridges of at most HOLDING_BRIDGE_CAPACITY callers', function () {
  this.timeout(60000);
  const rigs = useRig();

  it('the caller after a full bridge waits in the next one, with music; a freed place is taken again; an empty bridge goes', async () => {
    const rig = rigs.set(await startRig());
    const app = rig.config.ari.app;
    const first = holdingBridgeIdOf(app, 'support');
    const second = holdingBridgeIdOf(app, 'support', 1);
    const held = (): Map<string, { callers: number; music: boolean }> =>
      new Map(
        rig.sim
          .bridges()
          .filter((b) => b.id.startsWith(`hold.${app}.`))
          .map((b) => [b.id, { callers: b.channels.length, music: b.mohActive }]),
      );
    const calls = Array.from({ length: HOLDING_BRIDGE_CAPACITY + 1 }, (_, i) =>
      rig.sim.call({ from: `+1555700${String(i).padStart(4, '0')}`, to: 'queue:support' }),
    );
    await Promise.all(calls.map((c) => c.waitFor('inBridge', 30000)));
    expect(Object.fromEntries(held())).to.deep.equal({
      [first]: { callers: HOLDING_BRIDGE_CAPACITY, music: true },
      [second]: { callers: 1, music: true },
    });

    const last = calls[calls.length - 1];
    expect(last.bridge?.id).to.equal(second);
    last.hangup();
    await waitUntil(() => !held().has(second), 5000, 'the emptied second bridge destroyed');

    calls[0].hangup();
    await waitUntil(() => held().get(first)?.callers === HOLDING_BRIDGE_CAPACITY - 1, 5000, 'the first bridge one caller short');
    // The session gives its place back at the end of its end (after its verbs and agent side).
    const registry = HoldingBridges.of(rig.plugin.app.calls.control);
    await waitUntil(() => !registry.members(first).includes(calls[0].id), 5000, 'the place given back');
    const next = rig.sim.call({ from: '+15557009999', to: 'queue:support' });
    await next.waitFor('inBridge', 10000);
    expect(next.bridge?.id, 'the freed place is taken').to.equal(first);
    expect(held().has(second), 'no second bridge for it').to.equal(false);
  });
});

describe('e2e: a caller Asterisk refuses to put in its holding bridge', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('is put in again shortly: it waits with music, not in silence between its prompts', async () => {
    const rig = rigs.set(await startRig());
    const bridgeId = holdingBridgeIdOf(rig.config.ari.app, 'support');
    // Asterisk answers the caller's first two adds with an internal error.
    const refused = faultRequests(rig.sim, { operation: 'bridges.addChannel', pathIncludes: bridgeId }, 2, INTERNAL_ERROR);
    const call = rig.sim.call({ from: '+15557770201', to: 'queue:support' });
    await call.entered();
    await call.waitFor('inBridge', 5000);
    expect(refused.count, 'both refusals happened').to.equal(2);
    expect(call.bridge?.id).to.equal(bridgeId);
    expect(rig.sim.bridges().find((b) => b.id === bridgeId)?.mohActive, 'the bridge plays its music').to.equal(true);
    await waitUntil(() => rig.logLines.some((l) => l.includes('caller put on hold after a refusal')), 2000, 'the retry logged');
  });
});

async function waitUntil(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not reached in ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
