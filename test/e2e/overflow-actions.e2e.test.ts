import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { Rig, sleep, startRig, testConfigInput, useRig } from '../helpers/plugin-harness';

/**
 * The overflow actions beside the callback offer (another queue, an outside number, voicemail, a
 * message), an escalation ladder of them, and the position/wait announcements, on the simulator.
 */
function config(supportOverflow: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = testConfigInput();
  const [support] = base.queues as Record<string, unknown>[];
  return {
    ...base,
    queues: [
      { ...support, overflow: supportOverflow, ...extra },
      { ...support, id: 'sales', overflow: { maxWaiting: 50 } },
    ],
    agents: [
      { id: 'a1001', name: 'Ann', endpoint: 'PJSIP/1001', queues: [{ id: 'support' }] },
      { id: 'a1002', name: 'Bob', endpoint: 'PJSIP/1002', queues: [{ id: 'sales' }] },
    ],
  };
}

async function entries(
  r: Rig,
  channelId: string,
): Promise<{ queue_id: string; first_queue_id: string; close_reason: string | null; arrived_at: Date; first_arrived_at: Date }[]> {
  return (await r.database.db('queue_entries').where({ channel_id: channelId }).orderBy('seq')) as never;
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

/** A rig whose queue overflows to `external:<number>`, the outside number's phone driven by the test, created legs entering Stasis `createToStasisMs` after the create. */
async function externalRig(number: string, createToStasisMs: number): Promise<Rig> {
  const r = await startRig({
    config: config({ actions: [{ when: { maxWaiting: 1 }, action: `external:${number}` }] }),
    timing: { createToStasisMs },
  });
  r.sim.endpoint(`PJSIP/${number.replace('+', '')}@trunk`).manual();
  return r;
}

describe('e2e: overflow actions and announcements', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('queue:<id>: the caller moves to another queue, placed there by its rules, and keeps its first arrival for reports', async () => {
    const r = rigs.set(await startRig({ config: config({ actions: [{ when: { maxWaiting: 1 }, action: 'queue:sales' }] }) }));
    const call = r.sim.call({ from: '+15551110001', to: 'queue:support' });
    await call.entered();
    await r.waitForMilestone('caller_moved', (d) => d.channelId === call.id && d.to === 'sales', 5000);
    expect(r.plugin.app.queueSnapshot('support')?.waiting).to.equal(0);
    expect(r.plugin.app.queueSnapshot('sales')?.items.map((i) => i.id)).to.deep.equal([call.id]);
    const rows = await until('two places, the first closed as moved', async () => {
      const e = await entries(r, call.id);
      return e.length === 2 && e[0]?.close_reason === 'moved' ? e : undefined;
    });
    expect(rows[1]).to.include({ queue_id: 'sales', first_queue_id: 'support', close_reason: null });
    expect(rows[1]?.first_arrived_at.getTime()).to.equal(rows[0]?.arrived_at.getTime());
    // Served by the other queue's agent.
    r.sim.endpoint('PJSIP/1002').manual();
    r.sim.endpoint('PJSIP/1002').setDeviceState(null);
    const leg = await r.sim.endpoint('PJSIP/1002').nextLeg(5000);
    leg.answer();
    await r.waitForMilestone('caller_connected', (d) => d.channelId === call.id, 5000);
    const actions = await until('the move stored', async () => {
      const a = (await r.database.db('queue_entry_actions').select('action')).map((x: { action: string }) => x.action);
      return a.includes('moved') ? a : undefined;
    });
    expect(actions).to.include('moved');
  });

  it('external:<number>: the outside number is dialled with the queue caller id and bridged; a refused number is never dialled', async () => {
    const r = rigs.set(await startRig({ config: config({ actions: [{ when: { maxWaiting: 1 }, action: 'external:+15552220000' }] }) }));
    r.sim.endpoint('PJSIP/15552220000@trunk').manual();
    const call = r.sim.call({ from: '+15551110002', to: 'queue:support' });
    await call.entered();
    const leg = await r.sim.endpoint('PJSIP/15552220000@trunk').nextLeg(5000);
    expect(call.state).to.equal('Up');
    leg.answer();
    await r.waitForMilestone('caller_transferred', (d) => d.channelId === call.id, 5000);
    await leg.waitFor('inBridge', 3000);
    expect(call.bridge?.type).to.equal('mixing');
    call.hangup();
    await leg.waitFor('hungup', 3000);
    expect(await until('closed as external', async () => (await entries(r, call.id))[0]?.close_reason ?? undefined)).to.equal('external');
  });

  it('external with a 60 ms create → StasisStart window (the real Asterisk answered 409 to a dial sent at once): dialled after its StasisStart, bridged', async () => {
    const r = rigs.set(await externalRig('+15552220001', 60));
    const call = r.sim.call({ from: '+15551110012', to: 'queue:support' });
    await call.entered();
    const leg = await r.sim.endpoint('PJSIP/15552220001@trunk').nextLeg(5000);
    const create = r.sim.requests.find((q) => q.path === '/ari/channels/create');
    const dial = r.sim.requests.find((q) => q.path === `/ari/channels/${leg.id}/dial`);
    expect(dial?.status, 'the dial was accepted').to.equal(204);
    expect((dial?.atMs ?? 0) - (create?.atMs ?? 0), 'the dial waited for the StasisStart').to.be.at.least(55);
    leg.answer();
    await r.waitForMilestone('caller_transferred', (d) => d.channelId === call.id, 5000);
    await leg.waitFor('inBridge', 3000);
    expect(r.sim.requests.filter((q) => q.status === 409).map((q) => q.path)).to.deep.equal([]);
    call.hangup();
    await leg.waitFor('hungup', 3000);
  });

  it('external: the caller hangs up while the outside leg is being created: the leg is hung up as it comes and never dialled', async () => {
    const r = rigs.set(await externalRig('+15552220002', 80));
    const call = r.sim.call({ from: '+15551110013', to: 'queue:support' });
    await call.entered();
    await r.sim.waitForRequest((q) => q.path === '/ari/channels/create', 5000);
    call.hangup();
    await sleep(500);
    const legs = r.sim.legs.filter((l) => l.endpointName.includes('15552220002'));
    expect(
      legs.every((l) => l.state === 'hungup'),
      'no outside leg left',
    ).to.equal(true);
    expect(
      r.sim.requests.filter((q) => /\/dial$/.test(q.path)),
      'never dialled',
    ).to.deep.equal([]);
  });

  it('external: a premium number the queue policy refuses is not dialled; the caller waits on', async () => {
    const r = rigs.set(await startRig({ config: config({ actions: [{ when: { maxWaiting: 1 }, action: 'external:+19005550100' }] }) }));
    const call = r.sim.call({ from: '+15551110003', to: 'queue:support' });
    await call.entered();
    await call.waitFor('mohOn', 3000);
    await sleep(800);
    expect(r.sim.legs.filter((l) => l.endpointName.includes('19005550100'))).to.have.length(0);
    expect(r.plugin.app.queueSnapshot('support')?.callers).to.equal(1);
    expect(r.logLines.some((l) => l.includes('refused by the queue number policy'))).to.equal(true);
  });

  it('voicemail:<mailbox>: the call continues in the dialplan context for voicemail with the mailbox', async () => {
    const r = rigs.set(
      await startRig({
        config: {
          ...config({ actions: [{ when: { maxWaiting: 1 }, action: 'voicemail:1001' }] }),
          voicemail: { context: 'callback-voicemail' },
        },
      }),
    );
    const call = r.sim.call({ from: '+15551110004', to: 'queue:support' });
    await call.entered();
    const cont = await r.sim.waitForRequest((q) => q.method === 'POST' && q.path === `/ari/channels/${call.id}/continue`, 5000);
    expect(cont.query).to.include({ context: 'callback-voicemail', extension: '1001', priority: '1' });
    const left = await r.waitForMilestone('caller_left', (d) => d.channelId === call.id, 5000);
    expect(left.data.reason).to.equal('continued_to_voicemail');
    expect(await until('closed as voicemail', async () => (await entries(r, call.id))[0]?.close_reason ?? undefined)).to.equal('voicemail');
  });

  it('message:<sound>: the caller hears the message and the plugin ends the call', async () => {
    const r = rigs.set(await startRig({ config: config({ actions: [{ when: { maxWaiting: 1 }, action: 'message:callback/closed' }] }) }));
    const call = r.sim.call({ from: '+15551110005', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.closed, 3000);
    await call.waitFor('hungup', 5000);
    expect(call.hungUpBy).to.equal('app');
    const left = await r.waitForMilestone('caller_left', (d) => d.channelId === call.id, 3000);
    expect(left.data.reason).to.equal('ended_after_message');
    expect(await until('closed as message', async () => (await entries(r, call.id))[0]?.close_reason ?? undefined)).to.equal('message');
  });

  it('a ladder: the callback offer first, and past a second condition voicemail instead', async () => {
    const r = rigs.set(
      await startRig({
        config: config({
          actions: [
            { when: { maxWaiting: 1 }, action: 'callback' },
            { when: { waitedSec: 2 }, action: 'voicemail:1001' },
          ],
        }),
      }),
    );
    const call = r.sim.call({ from: '+15551110006', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    const cont = await r.sim.waitForRequest((q) => q.method === 'POST' && q.path === `/ari/channels/${call.id}/continue`, 6000);
    expect(cont.query.extension).to.equal('1001');
    const started = call.playbacks.find((p) => p.media.includes(PROMPTS.offer))?.startedAt ?? 0;
    expect(started).to.be.above(0);
    const actions = await until('both actions stored', async () => {
      const a = (await r.database.db('queue_entry_actions').orderBy('id').select('action')).map((x: { action: string }) => x.action);
      return a.length >= 2 ? a : undefined;
    });
    expect(actions).to.deep.equal(['callback_offered', 'voicemail']);
  });

  it('announcements: on entry the position counts a callback ahead, never over the offer, and stop once connected', async () => {
    const r = rigs.set(
      await startRig({
        config: config(
          { maxWaiting: 1 },
          { announce: { onEntry: true, everySec: 10 }, offer: { initialDelaySec: 0.2, intervalSec: 30, thresholdPosition: 0 } },
        ),
      }),
    );
    await r.plugin.app.admin.createCallback({ queueId: 'support', number: '+15551119999' });
    const call = r.sim.call({ from: '+15551110007', to: 'queue:support' });
    await call.entered();
    const ann = await call.waitForPlayback((m) => m === PROMPTS.announcePosition, 3000);
    expect(ann.media.slice(0, 3)).to.deep.equal([PROMPTS.announcePosition, 'number:2', PROMPTS.announceInLine]);
    const offer = await call.waitForPlayback((m) => m === PROMPTS.offer, 5000);
    const annDone = call.playbacks.find((p) => p.id === ann.id)?.finishedAt ?? Infinity;
    expect(offer.startedAt ?? 0, 'the offer starts after the announcement ended').to.be.at.least(annDone);
  });

  it('announcements repeat every N seconds while waiting and stop once the caller is connected', async () => {
    const r = rigs.set(await startRig({ config: config({ maxWaiting: 5 }, { announce: { onEntry: true, everySec: 10 } }) }));
    const call = r.sim.call({ from: '+15551110008', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.announcePosition, 3000);
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState(null);
    const leg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    leg.answer();
    await r.waitForMilestone('caller_connected', (d) => d.channelId === call.id, 5000);
    await sleep(10500);
    expect(call.playbacks.filter((p) => p.media.includes(PROMPTS.announcePosition))).to.have.length(1);
  });
});
