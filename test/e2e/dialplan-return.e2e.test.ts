import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { SimCall } from '../../tools/simulator/scenario-driver';
import { Rig, sleep, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';
import { faultRequests, INTERNAL_ERROR } from '../helpers/request-faults';

/**
 * Calls the plugin does not take go back to the dialplan with DIRECT_CALLBACK_STATUS saying why
 * (an unknown queue or target, arguments it does not know, a queue or the process at its
 * maxCallers), unanswered, at the step after Stasis(); and no call's failure ends the process.
 */
function config(over: { queue?: Record<string, unknown>; limits?: Record<string, unknown> } = {}): Record<string, unknown> {
  const base = testConfigInput();
  const [support] = base.queues as Record<string, unknown>[];
  return {
    ...base,
    queues: [
      { ...support, ...over.queue },
      { ...support, id: 'sales' },
    ],
    agents: [
      { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'support' }], personalNumber: '5551000' },
      // No personal number: a direct call to Bob hears "this number is not assigned".
      { id: 'a1002', name: 'Bob', endpoint: 'PJSIP/1002', queues: [{ id: 'sales' }] },
    ],
    ...(over.limits ? { limits: over.limits } : {}),
  };
}

/**
 * The call was handed back: the status variable set, then `continue` with no context, extension
 * or priority (the dialplan resumes after Stasis(), priority 2 → 3), and never answered.
 */
async function expectReturned(r: Rig, call: SimCall, status: string): Promise<void> {
  const cont = await r.sim.waitForRequest((q) => q.method === 'POST' && q.path === `/ari/channels/${call.id}/continue`, 5000);
  expect(cont.query, 'continue carries no place: the step after Stasis()').to.deep.equal({});
  const setVar = r.sim.requests.find((q) => q.method === 'POST' && q.path === `/ari/channels/${call.id}/variable`);
  expect(setVar?.query).to.deep.equal({ variable: 'DIRECT_CALLBACK_STATUS', value: status });
  expect(setVar?.seq ?? Infinity, 'the variable is set before the call leaves').to.be.below(cont.seq);
  await call.waitFor('leftStasis', 3000);
  expect(call.variables.get('DIRECT_CALLBACK_STATUS')).to.equal(status);
  expect(call.variables.get('STASISSTATUS')).to.equal('SUCCESS');
  expect(call.continuedTo).to.deep.include({ context: 'from-trunk', priority: 3 });
  expect(call.channel.state, 'returned unanswered, so the fallback can ring or go to voicemail').to.not.equal('Up');
  expect(r.sim.requests.some((q) => q.path === `/ari/channels/${call.id}/answer`)).to.equal(false);
  expect(call.hungUpBy, 'the plugin did not hang up').to.not.equal('app');
}

function isHeld(r: Rig, call: SimCall): boolean {
  return r.sim.requests.some((q) => q.path === `/ari/channels/${call.id}/answer`);
}

describe('e2e: calls returned to the dialplan with a status', function () {
  this.timeout(30000);
  const rigs = useRig();
  const rejections: unknown[] = [];
  const onRejection = (e: unknown): void => {
    rejections.push(e);
  };
  // A rejection nobody handles would reach the plugin's uncaught-exception handler, which ends
  // the process (and this test run): listening here records it instead.
  before(() => process.on('unhandledRejection', onRejection));
  after(() => process.off('unhandledRejection', onRejection));
  beforeEach(() => (rejections.length = 0));

  it('UNKNOWN_QUEUE: queue,nosuch goes back unanswered, and the log names the arguments', async () => {
    const r = rigs.set(await startRig({ config: config() }));
    const call = r.sim.call({ from: '+15554440001', to: 'queue:nosuch' });
    await call.entered();
    await expectReturned(r, call, 'UNKNOWN_QUEUE');
    const line = r.logLines.find((l) => l.includes('call for an unknown queue'));
    expect(line).to.include('nosuch').and.to.include('"args":["queue","nosuch"]');
  });

  it('a continue Asterisk refuses once (500) is asked again: the caller still goes back, not hung up', async () => {
    const r = rigs.set(await startRig({ config: config() }));
    const refused = faultRequests(r.sim, { operation: 'channels.continueInDialplan' }, 1, INTERNAL_ERROR);
    const call = r.sim.call({ from: '+15554440009', to: 'queue:nosuch' });
    await call.entered();
    await call.waitFor('leftStasis', 3000);
    expect(refused.count, 'the first continue was refused').to.equal(1);
    expect(call.continuedTo).to.deep.include({ context: 'from-trunk', priority: 3 });
    expect(call.hungUpBy, 'the plugin did not hang up').to.not.equal('app');
    expect(r.logLines.join('\n')).to.not.include('could not return the call to the dialplan');
  });

  it('BAD_ARGUMENTS: queue without an id, an unknown kind, no arguments at all', async () => {
    const r = rigs.set(await startRig({ config: config() }));
    const noId = r.sim.call({ from: '+15554440002', to: 'queue', args: ['queue'] });
    const bogus = r.sim.call({ from: '+15554440003', to: 'bogus:x', args: ['bogus', 'x'] });
    const none = r.sim.call({ from: '+15554440004', to: 'queue:support', args: [] });
    const direct = r.sim.call({ from: '+15554440005', to: 'direct:5551000', args: ['direct'] });
    for (const c of [noId, bogus, none, direct]) await expectReturned(r, c, 'BAD_ARGUMENTS');
    const logged = r.logLines.filter((l) => l.includes('Stasis arguments the plugin does not know'));
    expect(logged.some((l) => l.includes('"args":["bogus","x"]') && l.includes("unknown entry kind 'bogus'"))).to.equal(true);
    expect(logged.some((l) => l.includes('"args":[]') && l.includes('no arguments'))).to.equal(true);
  });

  it('UNKNOWN_TARGET: direct,<no agent and no personal number> goes back; the attempt is recorded', async () => {
    const r = rigs.set(await startRig({ config: config(), agentsBusy: false }));
    const call = r.sim.call({ from: '+15554440006', to: 'direct:5559999', args: ['direct', '5559999'] });
    await call.entered();
    await expectReturned(r, call, 'UNKNOWN_TARGET');
    expect(r.sim.endpoint('PJSIP/1001').legs).to.have.length(0);
    expect((await r.store.directCall(call.id))?.reason).to.equal('unknown_target');
  });

  it('FULL per queue: past queues[].maxCallers the next caller goes back; a freed place admits again', async () => {
    const r = rigs.set(await startRig({ config: config({ queue: { maxCallers: 2 } }) }));
    // A burst: all five arrive before any is answered, and exactly two are held.
    const burst = [1, 2, 3, 4, 5].map((i) => r.sim.call({ from: `+1555444010${i}`, to: 'queue:support' }));
    await sleep(1000);
    const held = burst.filter((c) => isHeld(r, c));
    const turnedAway = burst.filter((c) => !isHeld(r, c));
    expect(held).to.have.length(2);
    for (const c of turnedAway) await expectReturned(r, c, 'FULL');
    expect(r.plugin.app.queueSnapshot('support')?.callers).to.equal(2);
    expect(r.logLines.filter((l) => l.includes('caller turned away')).every((l) => l.includes('"limit":"queue"'))).to.equal(true);
    // Another queue is not affected by support's cap.
    const sales = r.sim.call({ from: '+15554440110', to: 'queue:sales' });
    await sales.waitFor('inBridge', 3000);
    // One held caller leaves: the next is taken.
    held[0]?.hangup();
    await r.waitForMilestone('caller_left', (d) => d.channelId === held[0]?.id, 3000);
    const next = r.sim.call({ from: '+15554440111', to: 'queue:support' });
    await next.waitFor('inBridge', 3000);
    expect(next.continuedTo).to.equal(null);
  });

  it('FULL for the process: limits.maxCallers counts queue and direct callers of every queue', async () => {
    const r = rigs.set(await startRig({ config: config({ limits: { maxCallers: 2 } }), agentsBusy: false }));
    r.sim.endpoint('PJSIP/1001').ringsForever();
    const direct = r.sim.call({ from: '+15554440201', to: 'direct:5551000', args: ['direct', '5551000'] });
    await r.sim.endpoint('PJSIP/1001').nextLeg(3000);
    r.sim.endpoint('PJSIP/1002').setDeviceState('INUSE');
    const sales = r.sim.call({ from: '+15554440202', to: 'queue:sales' });
    await sales.waitFor('inBridge', 3000);
    const third = r.sim.call({ from: '+15554440203', to: 'queue:support' });
    await expectReturned(r, third, 'FULL');
    expect(r.logLines.some((l) => l.includes('caller turned away') && l.includes('"limit":"process"'))).to.equal(true);
    // A direct call is turned away the same way (the dialplan's fallback rings the agent).
    const directToo = r.sim.call({ from: '+15554440204', to: 'direct:5551000', args: ['direct', '5551000'] });
    await expectReturned(r, directToo, 'FULL');
    expect(direct.alive).to.equal(true);
  });

  it('a caller who hangs up on "not assigned" (before the answer, or during the message) ends only that call', async () => {
    const r = rigs.set(await startRig({ config: config(), agentsBusy: false }));
    // Gone before the plugin answers: the answer is refused with 404.
    const early = r.sim.call({ from: '+15554440301', to: 'direct:a1002', args: ['direct', 'a1002'] });
    await early.entered();
    early.hangup();
    // Gone while the message plays.
    r.sim.setMediaDuration(PROMPTS.noPersonalNumber, 3000);
    const during = r.sim.call({ from: '+15554440302', to: 'direct:a1002', args: ['direct', 'a1002'] });
    await during.waitForPlayback((m) => m === PROMPTS.noPersonalNumber, 3000);
    during.hangup();
    await sleep(800);
    expect(rejections.map(String), 'no rejection escaped').to.deep.equal([]);
    expect(r.sim.requests.some((q) => q.path === `/ari/channels/${early.id}/answer` && q.status === 404)).to.equal(true);
    // The process goes on: a next call is served.
    const next = r.sim.call({ from: '+15554440303', to: 'queue:support' });
    await next.waitFor('inBridge', 3000);
    await r.waitForMilestone('caller_entered', (d) => d.channelId === next.id, 3000);
    expect(r.plugin.app.liveSessions).to.equal(1);
  });
});
