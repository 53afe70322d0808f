import { expect } from 'chai';
import { PROMPTS } from '../../src/calls/prompts';
import { digitSounds } from '../../src/domain/caller-number';
import { PlaybackRecord, SimCall } from '../../tools/simulator/scenario-driver';
import { bookCallback, queueConfig, startRig, sleep, useRig } from '../helpers/plugin-harness';

/**
 * Call stories for the queue callback flow, end to end: real ari-client -> ARI simulator, real
 * PostgreSQL. Timings are shortened through configuration; the logic is the production one.
 */

const offers = (playbacks: readonly PlaybackRecord[]) => playbacks.filter((p) => p.media.includes(PROMPTS.offer));

/** Waits until the call has heard at least `n` offers. */
async function waitForOffers(call: SimCall, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (offers(call.playbacks).length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} offers, heard ${offers(call.playbacks).length}`);
    await sleep(25);
  }
}

describe('e2e: queue calls, overflow offer, durable callback, agent-first preview', function () {
  this.timeout(30000);
  const rigs = useRig();

  it('no overflow: the caller waits on music and hears no offer', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ overflow: { maxWaiting: 5 } }) }));
    const call = rig.sim.call({ from: '+15551234567', to: 'queue:support' });
    await call.entered();
    await call.waitFor('mohOn', 3000);
    expect(call.bridge?.type).to.equal('holding');
    await sleep(1500);
    expect(offers(call.playbacks)).to.have.length(0);
    expect(rig.plugin.app.queueSnapshot('support')?.callers).to.equal(1);
  });

  it('overflow by count: offers start after the initial delay and repeat at the interval', async () => {
    const rig = rigs.set(
      await startRig({
        config: queueConfig({ overflow: { maxWaiting: 1 }, offer: { initialDelaySec: 0.3, intervalSec: 0.7, thresholdPosition: 0 } }),
      }),
    );
    const call = rig.sim.call({ from: '+15551234567', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await sleep(1700);
    const made = offers(call.playbacks);
    expect(made.length).to.be.within(2, 4);
    const gaps = made.slice(1).map((p, i) => (p.startedAt ?? 0) - (made[i]?.startedAt ?? 0));
    for (const g of gaps) expect(g).to.be.within(550, 1100);
  });

  it('overflow by estimated wait: a long estimate offers, a short one does not', async () => {
    // Cold start 180 s per call, 2 staffed agents both busy: position 1 waits ceil(180/2) = 90 s.
    const first = await startRig({
      config: queueConfig({ overflow: { maxWaiting: null, maxEstimatedWaitSec: 60 }, coldStartHandleSec: 180 }),
    });
    try {
      const long = first.sim.call({ from: '+15551230001', to: 'queue:support' });
      await long.entered();
      await long.waitForPlayback((m) => m === PROMPTS.offer, 3000);
      expect(first.sim.violations).to.deep.equal([]);
    } finally {
      await first.stop();
    }
    const rig = rigs.set(
      await startRig({ config: queueConfig({ overflow: { maxWaiting: null, maxEstimatedWaitSec: 120 }, coldStartHandleSec: 180 }) }),
    );
    const short = rig.sim.call({ from: '+15551230002', to: 'queue:support' });
    await short.entered();
    await sleep(1200);
    expect(offers(short.playbacks)).to.have.length(0);
  });

  it('a route named in the Stasis arguments overrides the queue rule', async () => {
    const rig = rigs.set(
      await startRig({ config: { ...queueConfig({ overflow: { maxWaiting: 10 } }), routes: { vip: { overflow: { maxWaiting: 1 } } } } }),
    );
    const plain = rig.sim.call({ from: '+15551230003', to: 'queue:support' });
    const vip = rig.sim.call({ from: '+15551230004', to: 'queue:support', args: ['queue', 'support', 'route=vip'] });
    await plain.entered();
    await vip.entered();
    await vip.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    expect(offers(plain.playbacks)).to.have.length(0);
  });

  it('offers stop once the caller reaches the threshold position', async () => {
    const rig = rigs.set(
      await startRig({
        config: queueConfig({ overflow: { maxWaiting: 1 }, offer: { initialDelaySec: 0.2, intervalSec: 0.5, thresholdPosition: 1 } }),
      }),
    );
    const first = rig.sim.call({ from: '+15551230005', to: 'queue:support' });
    await first.entered();
    await first.waitFor('inBridge', 3000);
    const second = rig.sim.call({ from: '+15551230006', to: 'queue:support' });
    await second.entered();
    await second.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    expect(offers(first.playbacks), 'position 1 is at the threshold').to.have.length(0);
    first.hangup();
    await sleep(300);
    const before = offers(second.playbacks).length;
    await sleep(1300);
    expect(offers(second.playbacks).length, 'no more offers at position 1').to.equal(before);
  });

  it('pressing 1: committed before the confirmation starts, caller hung up, the others keep their places', async () => {
    const rig = rigs.set(await startRig());
    const r = rig;
    const a = r.sim.call({ from: '+15551110001', to: 'queue:support' });
    await a.entered();
    await a.waitFor('inBridge', 3000);
    const b = r.sim.call({ from: '+15551110002', name: 'Bea', to: 'queue:support' });
    await b.entered();
    await b.waitFor('inBridge', 3000);
    const c = r.sim.call({ from: '+15551110003', to: 'queue:support' });
    await c.entered();
    await c.waitFor('inBridge', 3000);
    const rowsAtConfirmation: Promise<number>[] = [];
    r.sim.onRequest((req) => {
      if (req.path.endsWith('/play') && JSON.stringify(req.query).includes('callback/confirm')) {
        rowsAtConfirmation.push(
          r.database
            .db('callback_requests')
            .where({ customer_number: '+15551110002' })
            .count<{ n: string }[]>({ n: '*' })
            .then((x) => Number(x[0]?.n)),
        );
      }
    });
    await b.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await b.pressDtmf('1');
    await b.waitFor('hungup', 5000);
    expect(b.hungUpBy).to.equal('app');
    expect(rowsAtConfirmation).to.have.length(1);
    expect(await rowsAtConfirmation[0]).to.equal(1);
    const confirm = b.playbacks.find((p) => p.media.includes(PROMPTS.confirm));
    expect(confirm?.media).to.deep.equal([PROMPTS.confirm, ...digitSounds('15551110002'), PROMPTS.confirmGoodbye]);
    const stored = await r.store.listOpen();
    expect(stored.map((s) => [s.customerNumber, s.customerName, s.status])).to.deep.equal([['+15551110002', 'Bea', 'pending']]);
    expect((await r.store.history(stored[0].id)).map((h) => h.type)).to.deep.equal(['requested']);
    const snap = r.plugin.app.queueSnapshot('support');
    expect(snap?.items.map((i) => i.kind)).to.deep.equal(['caller', 'callback', 'caller']);
    expect(snap?.items[1]?.id).to.equal(stored[0]?.id);
    const ms = r.milestones.map((m) => m.name);
    expect(ms.indexOf('callback_stored')).to.be.lessThan(ms.indexOf('confirmation_started'));
  });

  it('a burst: 120 callers press 1 in the same moment; every one is confirmed, within ari.maxConnections HTTP connections', async () => {
    // Asterisk closes connections over its session limit (100, as the simulator does) and
    // ari-client never settles a request sent on one: uncapped, such a burst opens a connection per
    // request in flight, and callers wait on requests that never answer (src/ari/http-connections.ts).
    const cap = 8;
    const rig = rigs.set(
      await startRig({
        config: {
          ...queueConfig({ overflow: { maxWaiting: 1 }, offer: { initialDelaySec: 0.2, intervalSec: 30, thresholdPosition: 0 } }),
          ari: { maxConnections: cap },
        },
        timing: { defaultSoundMs: 2000 },
      }),
    );
    const calls = Array.from({ length: 120 }, (_, i) =>
      rig.sim.call({ from: `+1555222${String(i).padStart(4, '0')}`, to: 'queue:support' }),
    );
    await Promise.all(calls.map((c) => c.waitForPlayback((m) => m === PROMPTS.offer, 20000)));
    await Promise.all(calls.map((c) => c.pressDtmf('1')));
    await Promise.all(calls.map((c) => c.waitFor('hungup', 20000)));
    for (const c of calls)
      expect(
        c.playbacks.some((p) => p.media.includes(PROMPTS.confirm)),
        `${c.id} confirmed`,
      ).to.equal(true);
    expect(await rig.store.listOpen()).to.have.length(120);
    const sessions = rig.sim.httpSessions;
    expect(sessions.refused).to.equal(0);
    // The cap, the WebSocket, and the start-up's GET /asterisk/info (fetch, whose connection is
    // kept alive 4 s; it identifies the Asterisk before ari-client connects).
    expect(sessions.peak).to.be.at.most(cap + 2);
  });

  it('the database failing at the moment of pressing 1: no confirmation, the caller stays queued', async () => {
    const rig = rigs.set(await startRig());
    const call = rig.sim.call({ from: '+15552220001', to: 'queue:support' });
    await call.entered();
    await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await rig.database.db.raw('ALTER TABLE callback_requests RENAME TO callback_requests_away');
    try {
      await call.pressDtmf('1');
      await call.waitForPlayback((m) => m === PROMPTS.storeFailed, 5000);
    } finally {
      await rig.database.db.raw('ALTER TABLE callback_requests_away RENAME TO callback_requests');
    }
    expect(call.playbacks.some((p) => p.media.includes(PROMPTS.confirm))).to.equal(false);
    expect(call.hungUpBy).to.equal(null);
    expect(rig.plugin.app.queueSnapshot('support')?.callers).to.equal(1);
    // The offer continues, and now that the store is back, 1 works.
    await waitForOffers(call, offers(call.playbacks).length + 1, 3000);
    await call.pressDtmf('1');
    await call.waitFor('hungup', 5000);
    expect((await rig.store.listOpen()).map((s) => s.customerNumber)).to.deep.equal(['+15552220001']);
  });

  it('other digits are ignored and interrupt the prompt; without another-number entry a withheld number gets no offer', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ otherNumber: false }) }));
    rig.sim.setMediaDuration(PROMPTS.offer, 3000);
    const call = rig.sim.call({ from: '+15553330001', to: 'queue:support' });
    await call.entered();
    const offer = await call.waitForPlayback((m) => m === PROMPTS.offer, 3000);
    await call.pressDtmf('5');
    await sleep(300);
    expect(call.playbacks.find((p) => p.id === offer.id)?.stoppedByApp).to.equal(true);
    expect(call.hungUpBy).to.equal(null);
    expect(await rig.store.listOpen()).to.have.length(0);
    const anonymous = rig.sim.call({ from: 'anonymous', to: 'queue:support' });
    await anonymous.entered();
    await sleep(1200);
    expect(offers(anonymous.playbacks)).to.have.length(0);
  });

  it('the full preview callback: agent leg first, whisper, 1, then the customer, one mixing bridge', async () => {
    const rig = rigs.set(await startRig());
    const r = rig;
    const id = await bookCallback(r, '+15559876001');
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/15559876001@trunk').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agentLeg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(agentLeg.displayedCaller.name).to.equal('CB +15559876001');
    expect(r.sim.requests.some((q) => q.path === '/ari/channels/create')).to.equal(false);
    agentLeg.answer();
    const whisper = await agentLeg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    expect(whisper.media).to.include.members(digitSounds('15559876001'));
    expect(whisper.media).to.include(PROMPTS.whisperOptions);
    await sleep(200);
    expect(
      r.sim.requests.some((q) => q.path === '/ari/channels/create'),
      'no customer leg before the agent accepts',
    ).to.equal(false);
    await agentLeg.pressDtmf('1');
    const customer = await r.sim.endpoint('PJSIP/15559876001@trunk').nextLeg(5000);
    expect(customer.displayedCaller).to.deep.include({ number: '5550100', name: 'Support Callback' });
    customer.answer();
    // Answering-machine guard: the customer confirms with 1 before the agent is connected.
    await customer.waitForPlayback((m) => m === PROMPTS.guard, 3000);
    expect(r.sim.bridges().filter((b) => b.bridge_type === 'mixing')).to.have.length(0);
    await customer.pressDtmf('1');
    await r.waitForMilestone('bridged', undefined, 5000);
    const mixing = r.sim.bridges().filter((b) => b.bridge_type === 'mixing');
    expect(mixing).to.have.length(1);
    expect([...(mixing[0]?.channels ?? [])].sort()).to.deep.equal([agentLeg.id, customer.id].sort());
    customer.hangup();
    await agentLeg.waitFor('hungup', 5000);
    const cb = await r.store.get(id);
    expect(cb?.status).to.equal('completed');
    const history = (await r.store.history(id)).map((h) => h.type);
    expect(history).to.deep.equal([
      'requested',
      'offered_to_agent',
      'agent_answered',
      'agent_accepted',
      'customer_dialled',
      'customer_answered',
      'bridged',
      'completed',
    ]);
  });

  it('agent presses 2: the callback goes to the next agent, and not back to the first', async () => {
    const rig = rigs.set(await startRig());
    const r = rig;
    const id = await bookCallback(r, '+15559876002');
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/1002').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const first = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    first.answer();
    await first.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    await first.pressDtmf('2');
    await first.waitFor('hungup', 5000);
    r.sim.endpoint('PJSIP/1002').setDeviceState('NOT_INUSE');
    const second = await r.sim.endpoint('PJSIP/1002').nextLeg(5000);
    expect(second.displayedCaller.name).to.equal('CB +15559876002');
    await sleep(1500);
    expect(r.sim.endpoint('PJSIP/1001').legs.length, 'agent 1001 is not offered it again').to.equal(1);
    const history = (await r.store.history(id)).map((h) => [h.type, h.agentId]);
    expect(history).to.deep.include(['offered_to_agent', 'a1001']);
    expect(history).to.deep.include(['offered_to_agent', 'a1002']);
    expect((await r.store.get(id))?.attempts, 'a skip is not a customer attempt').to.equal(0);
  });

  it('customer busy: the agent is told, the attempt is recorded, the callback keeps its place', async () => {
    const rig = rigs.set(await startRig());
    const r = rig;
    const id = await bookCallback(r, '+15559876003');
    r.sim.endpoint('PJSIP/1001').answersAfter(100);
    r.sim.endpoint('PJSIP/15559876003@trunk').busy();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agentLeg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    await agentLeg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    r.sim.endpoint('PJSIP/1001').setDeviceState('INUSE'); // keep it from being re-offered at once
    await agentLeg.pressDtmf('1');
    await agentLeg.waitForPlayback((m) => m === PROMPTS.customerBusy, 5000);
    await agentLeg.waitFor('hungup', 5000);
    await sleep(200);
    const cb = await r.store.get(id);
    expect(cb?.status).to.equal('pending');
    expect(cb?.attempts).to.equal(1);
    const attempts = await r.store.attempts(id);
    expect(attempts.map((a) => [a.outcome, a.cause])).to.deep.equal([['busy', 17]]);
    expect((await r.store.history(id)).map((h) => h.type)).to.include('customer_dialled');
    expect(r.plugin.app.queueSnapshot('support')?.items.map((i) => i.id)).to.deep.equal([id]);
  });

  it('answering-machine guard: a customer leg answered without 1 counts as no answer', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ guard: { enabled: true, timeoutSec: 0.8 } }) }));
    const r = rig;
    const id = await bookCallback(r, '+15559876004');
    r.sim.endpoint('PJSIP/1001').answersAfter(50);
    r.sim.endpoint('PJSIP/15559876004@trunk').answersAfter(100);
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    const agentLeg = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    await agentLeg.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    r.sim.endpoint('PJSIP/1001').setDeviceState('INUSE');
    await agentLeg.pressDtmf('1');
    const machine = await r.sim.endpoint('PJSIP/15559876004@trunk').nextLeg(5000);
    await machine.waitForPlayback((m) => m === PROMPTS.guard, 3000);
    await agentLeg.waitForPlayback((m) => m === PROMPTS.customerNoAnswer, 5000);
    await machine.waitFor('hungup', 5000);
    await agentLeg.waitFor('hungup', 5000);
    await sleep(200);
    expect(r.sim.bridges().filter((b) => b.bridge_type === 'mixing')).to.have.length(0);
    const cb = await r.store.get(id);
    expect([cb?.status, cb?.attempts]).to.deep.equal(['pending', 1]);
    expect((await r.store.attempts(id)).map((a) => a.outcome)).to.deep.equal(['no_answer']);
  });

  it('live callers and callbacks are served in strict order', async () => {
    const rig = rigs.set(await startRig({ config: queueConfig({ wrapUpSec: 0 }) }));
    const r = rig;
    const a = r.sim.call({ from: '+15554440001', to: 'queue:support' });
    await a.entered();
    await a.waitFor('inBridge', 3000);
    const cbId = await bookCallback(r, '+15554440002');
    const c = r.sim.call({ from: '+15554440003', to: 'queue:support' });
    await c.entered();
    await c.waitFor('inBridge', 3000);
    r.sim.endpoint('PJSIP/1001').manual();
    r.sim.endpoint('PJSIP/1001').setDeviceState('NOT_INUSE');
    // 1st: the live caller at the head.
    const leg1 = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(leg1.displayedCaller.number).to.equal('+15554440001');
    leg1.answer();
    await r.waitForMilestone('caller_connected', (d) => d.channelId === a.id);
    leg1.hangup();
    await a.waitFor('hungup', 5000);
    // 2nd: the callback, although caller C is live and waiting.
    const leg2 = await r.sim.endpoint('PJSIP/1001').nextLeg(5000);
    expect(leg2.displayedCaller.name).to.equal('CB +15554440002');
    leg2.answer();
    await leg2.waitForPlayback((m) => m === PROMPTS.whisperIntro, 3000);
    await leg2.pressDtmf('2');
    await leg2.waitFor('hungup', 5000);
    expect(r.plugin.app.queueSnapshot('support')?.items.map((i) => i.id)).to.deep.equal([cbId, c.id]);
  });
});
